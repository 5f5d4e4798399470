// The Flex Consumption plan and the function app (dotnet-isolated 10.0). Every connection is identity-based: the
// user-assigned identity reads AzureWebJobsStorage__*, DatasetStorage__*, FineTuning__Storage__* and the provider.
param name string
param planName string
param location string
param tags object
param identityId string
param identityClientId string
param storageAccountName string
param blobEndpoint string
param queueEndpoint string
param tableEndpoint string
param deploymentContainer string
param appInsightsConnectionString string
param openAIEndpoint string
@description('The Azure OpenAI account\'s resource id: the workflow deploys fine-tuned models on it.')
param openAIResourceId string
param trainingType string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${blobEndpoint}${deploymentContainer}'
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: { maximumInstanceCount: 100, instanceMemoryMB: 2048 }
      runtime: { name: 'dotnet-isolated', version: '10.0' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        // Functions runtime and Durable task hub storage, by identity.
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        // The blob trigger's connection (datasets container), by identity.
        { name: 'DatasetStorage__blobServiceUri', value: blobEndpoint }
        { name: 'DatasetStorage__queueServiceUri', value: queueEndpoint }
        { name: 'DatasetStorage__credential', value: 'managedidentity' }
        { name: 'DatasetStorage__clientId', value: identityClientId }
        // FineTuning.Functions: blobs and tables, the task hub, the provider.
        { name: 'TASKHUB_NAME', value: 'finetuning' }
        { name: 'FineTuning__Storage__BlobServiceUri', value: blobEndpoint }
        { name: 'FineTuning__Storage__TableServiceUri', value: tableEndpoint }
        { name: 'FineTuning__Provider__Kind', value: 'AzureOpenAI' }
        { name: 'FineTuning__Provider__Endpoint', value: openAIEndpoint }
        { name: 'FineTuning__Provider__Auth', value: 'EntraId' }
        { name: 'FineTuning__Deployments__AccountResourceId', value: openAIResourceId }
        { name: 'FineTuning__Evaluation__BaseDeployment', value: 'gpt-4.1-mini' }
        { name: 'FineTuning__Evaluation__JudgeModel', value: 'gpt-4.1' }
        { name: 'FineTuning__Provider__TrainingType', value: trainingType }
        // DefaultAzureCredential picks the user-assigned identity.
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        // Telemetry with the identity (local auth is off on Application Insights).
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
      ]
    }
  }
}

output name string = app.name
output uri string = 'https://${app.properties.defaultHostName}'
