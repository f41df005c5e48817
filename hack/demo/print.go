package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"

	scanv1 "github.com/hss-dev/imagescan-operator/api/v1alpha1"
	"github.com/hss-dev/imagescan-operator/internal/hss/simulator"
)

// tables asks the API server for its server-side tables, the rows `kubectl
// get` prints: the columns are the CRDs' printer columns, exactly as
// kubectl shows them, without needing kubectl.
type tables struct {
	rest *rest.RESTClient
}

func newTables(cfg *rest.Config) (*tables, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &scanv1.GroupVersion
	c.APIPath = "/apis"
	scheme := runtime.NewScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		return nil, err
	}
	metav1.AddToGroupVersion(scheme, metav1.SchemeGroupVersion)
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, err
	}
	return &tables{rest: rc}, nil
}

// get returns the table of a resource in a namespace, optionally of one
// object or of a label selection.
func (t *tables) get(ctx context.Context, namespace, resource, name, selector string) (*metav1.Table, error) {
	req := t.rest.Get().Namespace(namespace).Resource(resource).
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io")
	if name != "" {
		req = req.Name(name)
	}
	if selector != "" {
		req = req.Param("labelSelector", selector)
	}
	table := &metav1.Table{}
	if err := req.Do(ctx).Into(table); err != nil {
		return nil, fmt.Errorf("get %s: %w", resource, err)
	}
	return table, nil
}

// printTable prints a table as kubectl does: the columns of priority 0 (all
// with wide), headers in capitals, at most limit rows (0: all).
func printTable(w io.Writer, table *metav1.Table, header, wide bool, limit int) {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	var cols []int
	var names []string
	for i, c := range table.ColumnDefinitions {
		if wide || c.Priority == 0 {
			cols = append(cols, i)
			names = append(names, strings.ToUpper(c.Name))
		}
	}
	if header {
		fmt.Fprintln(tw, strings.Join(names, "\t"))
	}
	for n, row := range table.Rows {
		if limit > 0 && n == limit {
			break
		}
		cells := make([]string, 0, len(cols))
		for _, i := range cols {
			cells = append(cells, cell(row.Cells[i]))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	_ = tw.Flush()
	if limit > 0 && len(table.Rows) > limit {
		fmt.Fprintf(w, "... and %d more\n", len(table.Rows)-limit)
	}
}

// cell formats a cell as kubectl does: an absent value is blank.
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprint(v)
}

// printCalls lists the requests the simulator answered, by operation and
// outcome.
func printCalls(w io.Writer, sim *simulator.Server) {
	fmt.Fprintln(w, "\nHSS calls answered by the simulator:")
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "  OPERATION\tOUTCOME\tCALLS")
	counts := sim.Counts()
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		for _, outcome := range slices.Sorted(maps.Keys(counts[op])) {
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", op, outcome, counts[op][outcome])
		}
	}
	_ = tw.Flush()
}
