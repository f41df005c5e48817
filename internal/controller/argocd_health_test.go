package controller_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// The Argo CD health check shipped in config/argocd reads the conditions
// the controller writes the way kstatus does.
func TestArgoCDHealthCheckFollowsTheConditions(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(testenv.Root(), "config", "argocd", "health.lua"))
	NewWithT(t).Expect(err).NotTo(HaveOccurred())
	cond := func(typ, status, reason string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: typ + " " + reason}
	}
	for _, tc := range []struct {
		name       string
		generation int64
		conds      []metav1.Condition
		want       string
	}{
		{"not yet observed", 2, []metav1.Condition{cond("Ready", "True", "Succeeded")}, "Progressing"},
		{"round running", 1, []metav1.Condition{cond("Ready", "Unknown", "Scanning"), cond("Reconciling", "True", "Scanning")}, "Progressing"},
		{"retrying", 1, []metav1.Condition{cond("Ready", "Unknown", "Throttled"), cond("Reconciling", "True", "Throttled")}, "Progressing"},
		{"succeeded", 1, []metav1.Condition{cond("Ready", "True", "Succeeded")}, "Healthy"},
		{"images failed", 1, []metav1.Condition{cond("Ready", "False", "ImagesFailed"), cond("Stalled", "True", "ImagesFailed")}, "Degraded"},
		{"credentials missing", 1, []metav1.Condition{cond("Ready", "False", "CredentialsNotFound"), cond("Stalled", "True", "CredentialsNotFound")}, "Degraded"},
		{"suspended", 1, []metav1.Condition{cond("Ready", "False", "Suspended")}, "Suspended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := NewWithT(t)
			obj := scanv1.ImageScan{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: tc.generation}}
			obj.Status.ObservedGeneration, obj.Status.Conditions = 1, tc.conds
			status, message := runHealthCheck(g, string(script), obj)
			g.Expect(status).To(Equal(tc.want))
			if tc.want == "Degraded" {
				g.Expect(message).To(Equal("Stalled " + tc.conds[0].Reason))
			}
		})
	}
}

func runHealthCheck(g Gomega, script string, obj scanv1.ImageScan) (string, string) {
	data, err := json.Marshal(obj)
	g.Expect(err).NotTo(HaveOccurred())
	var v any
	g.Expect(json.Unmarshal(data, &v)).To(Succeed())
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, v))
	g.Expect(L.DoString(script)).To(Succeed())
	hs := L.Get(-1).(*lua.LTable)
	return hs.RawGetString("status").String(), hs.RawGetString("message").String()
}

func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	}
	return lua.LNil
}
