package hss

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestScanStatusesAreEitherInProgressTerminalOrUnscanned(t *testing.T) {
	cases := []struct {
		status               string
		inProgress, terminal bool
	}{
		{StatusUnscan, false, false},
		{StatusWaiting, true, false},
		{StatusScanning, true, false},
		{StatusSuccess, false, true},
		{StatusFailed, false, true},
		{StatusDownloadFailed, false, true},
		{StatusOversized, false, true},
		{"", false, false},
		{"something_new", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.status, func(t *testing.T) {
			g := NewWithT(t)
			g.Expect(InProgress(tc.status)).To(Equal(tc.inProgress))
			g.Expect(Terminal(tc.status)).To(Equal(tc.terminal))
		})
	}
}
