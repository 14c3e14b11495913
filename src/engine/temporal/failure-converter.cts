/**
 * The failure converter of every Countersign worker, workflow bundle and client: it moves a
 * failure's message and stack trace into an encoded payload (which the payload codec then
 * encrypts), leaving "Encoded failure" in clear. Temporal otherwise stores error messages in
 * clear, and Countersign's (a refused call, a tool's error) may quote personal data.
 *
 * CommonJS (compiled to failure-converter.cjs) because the Temporal worker `require()`s the
 * file at `dataConverter.failureConverterPath`; workflow-safe, the workflow bundle includes it.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS, see above
import common = require('@temporalio/common');

const failureConverter = new common.DefaultFailureConverter({ encodeCommonAttributes: true });

export = { failureConverter };
