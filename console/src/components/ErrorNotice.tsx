import { ApiError } from '../api.js';

/** An error the reviewer can act on: the server's code and message, never a stack trace. */
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  const code = error instanceof ApiError ? error.code : 'ERROR';
  const message =
    error instanceof Error
      ? error.message
      : typeof error === 'string'
        ? error
        : JSON.stringify(error);
  return (
    <div className="notice notice-error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong> <code>{code}</code>
      <p>{message}</p>
    </div>
  );
}
