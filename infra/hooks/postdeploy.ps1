# After the first deploy the app's blobs_extension key exists, so the Event Grid subscription of the blob trigger
# can be created: provision once more with it switched on. Later deploys find it on and do nothing.
$ErrorActionPreference = 'Stop'
$enabled = (azd env get-value ENABLE_BLOB_TRIGGER 2>$null)
if ($enabled -eq 'true') {
    Write-Host 'Blob trigger already subscribed (ENABLE_BLOB_TRIGGER=true).'
    exit 0
}
Write-Host 'Subscribing the blob trigger to datasets/*.jsonl (Event Grid needs the deployed app''s blobs_extension key)...'
azd env set ENABLE_BLOB_TRIGGER true
azd provision --no-prompt
