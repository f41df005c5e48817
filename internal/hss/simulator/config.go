package simulator

import (
	"time"

	"k8s.io/utils/clock"
)

// Config sets up a Server. The zero value is a working simulator with no
// authentication, instant scans and no faults.
type Config struct {
	// ProjectID, when set, is the only project_id accepted in paths.
	ProjectID string
	// Credentials maps access key IDs to their secret (AK/SK signing).
	Credentials map[string]Credential
	// Tokens are the accepted X-Auth-Token values. With neither Credentials
	// nor Tokens, every request is treated as authenticated.
	Tokens []string

	// QueueDelay is how long a requested scan waits before it runs, and
	// ScanDuration how long it runs before reaching its outcome.
	QueueDelay   time.Duration
	ScanDuration time.Duration
	// FailureRate is the share (0..1) of scans that end failed,
	// download_failed or image_oversized instead of success.
	FailureRate float64
	// Seed makes scan outcomes and injected faults reproducible.
	Seed int64

	// Clock drives scan progress and the request quota; real time when nil.
	Clock clock.PassiveClock
	// Faults is the initial fault injection; see SetFaults.
	Faults Faults
	// RetireDeprecated answers batch-scan, the SWR image list and
	// synchronize with 404 APIGW.0101 from the start, as HSS will once it
	// turns them off; Server.RetireDeprecated does so at a chosen moment.
	RetireDeprecated bool
	// TaskListDelay is how long a new task takes to show in
	// ListImageScanTask, and TaskStartDelay to queue its images; zero does
	// either at once.
	TaskListDelay  time.Duration
	TaskStartDelay time.Duration
	// OnRequest, when set, is called once per request after it is answered.
	OnRequest func(RequestRecord)
}

// Credential is the secret half of an access key.
type Credential struct {
	SK string
	// SecurityToken, when set, marks temporary credentials: requests signed
	// with this AK must carry the same X-Security-Token.
	SecurityToken string
}

// RequestRecord describes one answered request, for logging. It never holds
// credentials.
type RequestRecord struct {
	ID       string
	Method   string
	Path     string
	Op       Op
	Status   int // 0 when the connection was dropped
	Outcome  Outcome
	Duration time.Duration
}
