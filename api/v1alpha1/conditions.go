package v1alpha1

// Condition types, with kstatus semantics: Ready is always present;
// Reconciling and Stalled are present only while true.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// Condition reasons.
const (
	ReasonSucceeded           = "Succeeded"
	ReasonProgressing         = "Progressing"
	ReasonScanRequested       = "ScanRequested"
	ReasonScanning            = "Scanning"
	ReasonCollecting          = "CollectingStatistics"
	ReasonImagesFailed        = "ImagesFailed"
	ReasonImagesNotFound      = "ImagesNotFound"
	ReasonCredentialsNotFound = "CredentialsNotFound"
	ReasonCredentialsInvalid  = "CredentialsInvalid"
	ReasonAuthFailed          = "AuthenticationFailed"
	ReasonInvalidRequest      = "InvalidRequest"
	ReasonThrottled           = "Throttled"
	ReasonServiceUnavailable  = "ServiceUnavailable"
	ReasonSuspended           = "Suspended"
)
