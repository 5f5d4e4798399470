// An Azure Monitor workbook over the orchestrators' structured logs in the workspace: runs by status, each run's stage
// timeline with durations, its job's progress, failures with their reasons. Its queries are in
// infra/workbooks/runs.workbook.json (tested against the fields the code logs).
param workspaceId string
param location string
param tags object

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(workspaceId, 'finetuning-runs')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'FineTuning runs'
    category: 'workbook'
    sourceId: workspaceId
    serializedData: loadTextContent('../workbooks/runs.workbook.json')
  }
}

output id string = workbook.id
