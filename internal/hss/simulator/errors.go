package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiError is an error answer in the Huawei Cloud shape
// {"error_code": "...", "error_msg": "..."}.
type apiError struct {
	status int
	Code   string `json:"error_code"`
	Msg    string `json:"error_msg"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.Code, e.Msg) }

// Gateway codes are the real API Gateway ones; HSS.1xxx and HSS.05xx codes
// are the simulator's own choice, listed in the package documentation.
var (
	errSignature = &apiError{http.StatusUnauthorized, "APIGW.0301",
		"Incorrect IAM authentication information: verify aksk signature fail"}
	errToken = &apiError{http.StatusUnauthorized, "APIGW.0301",
		"Incorrect IAM authentication information: decrypt token fail"}
	errNoCredentials = &apiError{http.StatusUnauthorized, "APIGW.0301",
		"Incorrect IAM authentication information: the request carries no credentials"}
	errNoAPI = &apiError{http.StatusNotFound, "APIGW.0101",
		"The API does not exist or has not been published in the environment"}
	errThrottled = &apiError{http.StatusTooManyRequests, "APIG.0308", "The request is throttled."}
	errProject   = &apiError{http.StatusForbidden, "HSS.1006",
		"The project in the request path is not accessible with these credentials."}
	errNotFound = &apiError{http.StatusNotFound, "HSS.1004", "The image does not exist."}
	errNoStats  = &apiError{http.StatusBadRequest, "HSS.1005",
		"File statistics are available only after the image has been scanned successfully."}
	errInternal    = &apiError{http.StatusInternalServerError, "HSS.0500", "System error."}
	errUnavailable = &apiError{http.StatusServiceUnavailable, "HSS.0503", "Service temporarily unavailable."}
)

func badRequest(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "HSS.1001", "Invalid parameter: " + fmt.Sprintf(format, args...)}
}

// errorFor is the answer FailNext forces for a status.
func errorFor(status int) *apiError {
	switch status {
	case http.StatusBadRequest:
		return badRequest("rejected by fault injection")
	case http.StatusUnauthorized:
		return errSignature
	case http.StatusForbidden:
		return errProject
	case http.StatusNotFound:
		return errNotFound
	case http.StatusTooManyRequests:
		return errThrottled
	case http.StatusInternalServerError:
		return errInternal
	case http.StatusServiceUnavailable:
		return errUnavailable
	}
	return &apiError{status, fmt.Sprintf("HSS.%04d", status), http.StatusText(status)}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, e)
}
