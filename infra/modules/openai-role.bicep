// Cognitive Services OpenAI Contributor on the Azure OpenAI account (new or existing, in any resource group): upload
// files, create and manage fine-tuning jobs, call the models; and a role of its own to write the account's
// deployments. Also reads the account's endpoint for the app's settings.
param accountName string
param principalId string
param userPrincipalId string
@allowed(['User', 'ServicePrincipal'])
param userPrincipalType string = 'User'
@description('Log Analytics workspace for the account\'s diagnostic logs; empty for none.')
param workspaceId string = ''

var cognitiveServicesOpenAIContributor = 'a001fd3d-188f-4b5d-821b-7da978bf7442' // Cognitive Services OpenAI Contributor

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' existing = {
  name: accountName
}

resource appRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, cognitiveServicesOpenAIContributor)
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAIContributor)
  }
}

// The least the workflow needs to deploy a model (and remove a deployment it made): a role of exactly these actions,
// not Cognitive Services Contributor, which could also list the account's keys.
var deploymentActions = [
  'Microsoft.CognitiveServices/accounts/read'
  'Microsoft.CognitiveServices/accounts/deployments/read'
  'Microsoft.CognitiveServices/accounts/deployments/write'
  'Microsoft.CognitiveServices/accounts/deployments/delete'
]

resource deploymentWriter 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(account.id, 'finetuning-deployments')
  properties: {
    roleName: 'FineTuning deployment writer (${accountName})'
    description: 'Create, read and delete the deployments of one Azure OpenAI account; nothing else (no keys).'
    type: 'CustomRole'
    permissions: [{ actions: deploymentActions, notActions: [] }]
    assignableScopes: [resourceGroup().id]
  }
}

resource appDeploymentRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, principalId, 'finetuning-deployments')
  scope: account
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: deploymentWriter.id
  }
}

resource userRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, cognitiveServicesOpenAIContributor)
  scope: account
  properties: {
    principalId: userPrincipalId
    principalType: userPrincipalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesOpenAIContributor)
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(workspaceId)) {
  name: 'to-log-analytics'
  scope: account
  properties: {
    workspaceId: workspaceId
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

output endpoint string = account.properties.endpoint
