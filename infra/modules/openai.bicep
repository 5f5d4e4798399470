// An Azure OpenAI account for fine-tuning, reached through its /openai/v1/ endpoint with Entra ID only.
param name string
param location string
param tags object

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'OpenAI'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

// The evaluation's base model and judge answer through deployments of their own (the fine-tuned model's short-lived
// Developer deployment is the workflow's); one after the other, as an account takes one deployment change at a time.
resource baseDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: 'gpt-4.1-mini'
  sku: { name: 'GlobalStandard', capacity: 10 }
  properties: { model: { format: 'OpenAI', name: 'gpt-4.1-mini', version: '2025-04-14' } }
}

resource judgeDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: 'gpt-4.1'
  sku: { name: 'GlobalStandard', capacity: 10 }
  properties: { model: { format: 'OpenAI', name: 'gpt-4.1', version: '2025-04-14' } }
  dependsOn: [baseDeployment]
}

output id string = account.id
output endpoint string = account.properties.endpoint
