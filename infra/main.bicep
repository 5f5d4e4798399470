// FineTuning on Azure: a Flex Consumption function app (isolated worker, .NET 10) with Durable Functions, storage for
// datasets, runs and tables, monitoring, an Azure OpenAI account (or an existing one), role assignments for one
// user-assigned identity, and an Event Grid subscription that starts a run when a .jsonl lands in datasets/.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; used to name resources.')
param environmentName string

@minLength(1)
@description('Region for all resources (Flex Consumption and fine-tuning availability vary by region).')
param location string

@description('Resource ID of an existing Azure OpenAI account to use; empty creates one.')
param existingOpenAIResourceId string = ''

// The regions that offer Global fine-tuning of Azure OpenAI models (Microsoft Learn, "Fine-tuning region support",
// 2026-10-06; UAE North trains open-weight models only). Standard (regional) training of gpt-4.1, gpt-4.1-mini and
// gpt-4o-mini is offered in North Central US and Sweden Central, o4-mini's in East US 2 and Sweden Central (README).
@description('Region of the Azure OpenAI account this creates; fine-tuning is offered in fewer regions than Flex Consumption (see the README).')
@allowed([
  'australiaeast'
  'brazilsouth'
  'canadacentral'
  'canadaeast'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'norwayeast'
  'polandcentral'
  'southafricanorth'
  'southcentralus'
  'southindia'
  'southeastasia'
  'spaincentral'
  'swedencentral'
  'switzerlandnorth'
  'switzerlandwest'
  'uksouth'
  'westeurope'
  'westus'
  'westus3'
])
param openAILocation string = 'swedencentral'

@description('Training tier sent with jobs: Standard, GlobalStandard or Developer.')
@allowed(['Standard', 'GlobalStandard', 'Developer'])
param trainingType string = 'GlobalStandard'

@description('Principal ID of the deploying user, given data access for local development; empty for none.')
param principalId string = ''

@description('Kind of principal principalId is: User when a person deploys, ServicePrincipal when a pipeline does.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('Subscribe the blob trigger to Event Grid. Its webhook needs the app\'s blobs_extension key, which exists only after the code is deployed: leave false for the first provision, then set true and provision again.')
@allowed(['true', 'false'])
param enableBlobTrigger string = 'false'

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: { name: 'id-${token}', location: location, tags: tags }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: { name: 'st${token}', location: location, tags: tags }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: { logAnalyticsName: 'log-${token}', appInsightsName: 'appi-${token}', location: location, tags: tags }
}

module openai 'modules/openai.bicep' = if (empty(existingOpenAIResourceId)) {
  name: 'openai'
  scope: rg
  params: { name: 'oai-${token}', location: openAILocation, tags: tags }
}

// The account's id from parameters alone (the new one's or the given one), so the module that reads it and grants the
// app its role can be scoped at the start of the deployment; never split from an empty id.
var openAIResourceId = empty(existingOpenAIResourceId)
  ? '${subscription().id}/resourceGroups/${rg.name}/providers/Microsoft.CognitiveServices/accounts/oai-${token}'
  : existingOpenAIResourceId
var openAIIdParts = split(openAIResourceId, '/')

module openaiAccess 'modules/openai-role.bicep' = {
  name: 'openai-access'
  scope: resourceGroup(openAIIdParts[2], openAIIdParts[4])
  params: {
    accountName: last(openAIIdParts)
    principalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    workspaceId: monitoring.outputs.workspaceId
  }
  dependsOn: [openai]
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  scope: rg
  params: {
    name: 'func-${token}'
    planName: 'plan-${token}'
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    blobEndpoint: storage.outputs.blobEndpoint
    queueEndpoint: storage.outputs.queueEndpoint
    tableEndpoint: storage.outputs.tableEndpoint
    deploymentContainer: storage.outputs.deploymentContainer
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    openAIEndpoint: '${openaiAccess.outputs.endpoint}openai/v1/'
    openAIResourceId: openAIResourceId
    trainingType: trainingType
  }
  // The app starts once its identity may read its storage and call the account: else its first calls answer 403.
  dependsOn: [roles]
}

module roles 'modules/roles.bicep' = {
  name: 'roles'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    storageAccountName: storage.outputs.name
    appInsightsName: monitoring.outputs.appInsightsName
  }
}

module workbook 'modules/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: { workspaceId: monitoring.outputs.workspaceId, location: location, tags: tags }
}

module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    workspaceId: monitoring.outputs.workspaceId
    functionAppName: functionApp.outputs.name
    storageAccountName: storage.outputs.name
  }
}

module eventGrid 'modules/eventgrid.bicep' = if (enableBlobTrigger == 'true') {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'evgt-${token}'
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    functionAppName: functionApp.outputs.name
  }
}

output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_FUNCTION_URI string = functionApp.outputs.uri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_OPENAI_ENDPOINT string = openaiAccess.outputs.endpoint
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
