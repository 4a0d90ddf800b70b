// Verifies one Standard Webhooks signature with the reference library.
// stdin: {"secret": "whsec_…", "headers": {"webhook-id", "webhook-timestamp", "webhook-signature"},
//         "body": "<the raw request body>"}
// Exit code: 0 the signature is valid, 1 it is not (the reason on stderr),
//            2 the input or the set-up is broken.
"use strict";

let Webhook, WebhookVerificationError;
try {
  ({ Webhook, WebhookVerificationError } = require("standardwebhooks"));
} catch (e) {
  console.error(`cannot load standardwebhooks (run npm ci in ${__dirname}): ${e.message}`);
  process.exit(2);
}

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  let input;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (e) {
    console.error(`stdin is not JSON: ${e.message}`);
    process.exit(2);
  }
  if (typeof input.secret !== "string" || typeof input.body !== "string" || typeof input.headers !== "object") {
    console.error("stdin must be {secret, headers, body}");
    process.exit(2);
  }
  try {
    new Webhook(input.secret).verify(input.body, input.headers);
  } catch (e) {
    console.error(`${e.name}: ${e.message}`);
    process.exit(e instanceof WebhookVerificationError ? 1 : 2);
  }
  process.exit(0);
});
