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

output id string = account.id
output endpoint string = account.properties.endpoint
