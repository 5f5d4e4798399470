#!/bin/sh
# After the first deploy the app's blobs_extension key exists, so the Event Grid subscription of the blob trigger
# can be created: provision once more with it switched on. Later deploys find it on and do nothing.
set -eu
if [ "$(azd env get-value ENABLE_BLOB_TRIGGER 2>/dev/null || true)" = "true" ]; then
  echo "Blob trigger already subscribed (ENABLE_BLOB_TRIGGER=true)."
  exit 0
fi
echo "Subscribing the blob trigger to datasets/*.jsonl (Event Grid needs the deployed app's blobs_extension key)..."
azd env set ENABLE_BLOB_TRIGGER true
azd provision --no-prompt
