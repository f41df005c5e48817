package hss

import (
	"context"
	"fmt"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/services/hss/v5/model"
)

// OpCatalogue is the project's vulnerability catalogue (ListGeneralImageVuls).
const OpCatalogue = "list_catalogue"

// CatalogueEntry is what the catalogue says of one vulnerability, the same
// for every image it is found in.
type CatalogueEntry struct {
	// Name is HSS's short title of the vulnerability.
	Name string
	// Severity is HSS's severity_level: Critical, High, Medium or Low.
	Severity string
	// CVSS is the highest CVSS score of its CVEs; zero without one.
	CVSS float32
	// CVEs are its CVE entries, at most maxCVEsPerVulnerability.
	CVEs []CVE
}

// Severity levels of the catalogue.
const (
	SeverityCritical = "Critical"
	SeverityHigh     = "High"
	SeverityMedium   = "Medium"
	SeverityLow      = "Low"
)

// The catalogue's query needs a kind and a handling state, which the
// per-image list does not give: an entry with a path inside the image is
// most likely an application's, so that kind is asked first. Registry is
// the catalogue's image_type of SWR images.
var (
	catalogueHandling = []string{"unhandled", "handled"}
	catalogueImages   = "registry"
)

// Catalogue looks vulID up in the project's catalogue: one call when the
// entry is unhandled and of the kind app suggests, two when of the other
// kind, up to four when handled.
// False when no combination lists it.
func (c *sdkClient) Catalogue(ctx context.Context, vulID string, app bool) (CatalogueEntry, bool, error) {
	kinds := []string{KindLinux, KindApp}
	if app {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, handling := range catalogueHandling {
		for _, kind := range kinds {
			entry, ok, err := c.catalogueEntry(ctx, vulID, kind, handling)
			if err != nil || ok {
				return entry, ok, err
			}
		}
	}
	return CatalogueEntry{}, false, nil
}

// catalogueEntry reads the entry of vulID among one kind and handling
// state; the vul_id filter may match more than the exact ID, so the page
// is searched for it.
func (c *sdkClient) catalogueEntry(ctx context.Context, vulID, kind, handling string) (CatalogueEntry, bool, error) {
	limit, offset := int32(countPageSize), int32(0)
	req := &model.ListGeneralImageVulsRequest{
		EnterpriseProjectId: c.eps, Offset: &offset, Limit: &limit,
		Type: kind, HandleStatus: handling, ImageType: catalogueImages, VulId: &vulID,
	}
	var resp *model.ListGeneralImageVulsResponse
	err := c.call(ctx, OpCatalogue, func() (err error) {
		resp, err = c.api.ListGeneralImageVuls(req)
		return err
	})
	if err != nil {
		return CatalogueEntry{}, false, fmt.Errorf("catalogue entry of %s: %w", boundedText(vulID, maxVulnID), err)
	}
	for _, v := range value(resp.DataList) {
		if value(v.VulId) != vulID {
			continue
		}
		e := CatalogueEntry{
			Name:     boundedText(value(v.VulName), maxShortText),
			Severity: boundedText(value(v.SeverityLevel), maxStatusText),
			CVSS:     value(v.MaxCvssScore),
		}
		for _, cve := range value(v.CveList)[:min(len(value(v.CveList)), maxCVEsPerVulnerability)] {
			e.CVEs = append(e.CVEs, CVE{ID: boundedText(value(cve.CveId), maxVulnID), CVSS: value(cve.Cvss)})
			e.CVSS = max(e.CVSS, value(cve.Cvss))
		}
		return e, true, nil
	}
	return CatalogueEntry{}, false, nil
}
