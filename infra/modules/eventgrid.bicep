// BlobCreated events for datasets/*.jsonl, delivered to the blobs extension's webhook of the DatasetDrop function.
// The webhook needs the app's 'blobs_extension' system key, which exists once the code is deployed: main.bicep
// deploys this module only with enableBlobTrigger = 'true' (see README, "Deploy to Azure").
param name string
param location string
param tags object
param storageAccountName string
param functionAppName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource app 'Microsoft.Web/sites@2024-04-01' existing = {
  name: functionAppName
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: name
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource datasets 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'datasets-jsonl'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${app.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.DatasetDrop&code=${listKeys('${app.id}/host/default', '2024-04-01').systemKeys.blobs_extension}'
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Storage.BlobCreated']
      subjectBeginsWith: '/blobServices/default/containers/datasets/'
      subjectEndsWith: '.jsonl'
    }
    eventDeliverySchema: 'EventGridSchema'
  }
}
