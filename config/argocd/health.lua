-- Argo CD health check for scan.hss.dev/ImageScan, built on the kstatus
-- conditions the controller writes. Add it to argocd-cm as
-- resource.customizations.health.scan.hss.dev_ImageScan (see the README).
local hs = {status = "Progressing", message = "Waiting for the controller"}
if obj.status == nil or obj.status.observedGeneration ~= obj.metadata.generation then
  return hs
end
local conditions = {}
for _, c in ipairs(obj.status.conditions or {}) do
  conditions[c.type] = c
end
local ready = conditions["Ready"]
if conditions["Stalled"] ~= nil and conditions["Stalled"].status == "True" then
  hs.status, hs.message = "Degraded", conditions["Stalled"].message
elseif conditions["Reconciling"] ~= nil and conditions["Reconciling"].status == "True" then
  hs.message = conditions["Reconciling"].message
elseif ready ~= nil and ready.status == "True" then
  hs.status, hs.message = "Healthy", ready.message
elseif ready ~= nil and ready.reason == "Suspended" then
  hs.status, hs.message = "Suspended", ready.message
elseif ready ~= nil and ready.status == "False" then
  hs.status, hs.message = "Degraded", ready.message
end
return hs
