import { minimatch } from 'minimatch';

/**
 * Whether the files a return changed lie inside the package's owned surfaces and outside its
 * forbidden ones. Globs match paths relative to the workspace root; dot files match too (a
 * `.github/` change is a change). A forbidden surface wins over an owned one.
 */
export interface SurfaceVerdict {
  readonly ok: boolean;
  /** Changed paths that no owned surface covers. */
  readonly outside_owned: readonly string[];
  /** Changed paths a forbidden surface covers, each with the first glob that did. */
  readonly forbidden: readonly { readonly path: string; readonly surface: string }[];
}

const OPTIONS = { dot: true, nocomment: true, nonegate: true } as const;

/** Normalises a changed path as git prints it: forward slashes, no leading `./`. */
function normal(p: string): string {
  return p.replace(/\\/g, '/').replace(/^(\.\/)+/, '');
}

export function checkSurfaces(
  changed: readonly string[],
  owned: readonly string[],
  forbidden: readonly string[],
): SurfaceVerdict {
  const outside_owned: string[] = [];
  const hits: { path: string; surface: string }[] = [];
  for (const raw of changed) {
    const path = normal(raw);
    const banned = forbidden.find((g) => minimatch(path, g, OPTIONS));
    if (banned) hits.push({ path, surface: banned });
    // A path that climbs out of the workspace is never owned, whatever the globs say.
    const escapes = path.startsWith('/') || path.split('/').includes('..');
    if (escapes || !owned.some((g) => minimatch(path, g, OPTIONS))) outside_owned.push(path);
  }
  return { ok: outside_owned.length === 0 && hits.length === 0, outside_owned, forbidden: hits };
}
