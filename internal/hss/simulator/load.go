package simulator

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
)

var digestRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)

// LoadInventory reads an inventory file: a JSON object whose "images" array
// holds Image objects in their JSON form, for example
//
//	{"images": [{
//	  "image_type": "private_image",        // or shared_image, instance_image
//	  "namespace": "payments",
//	  "image_name": "api",
//	  "image_version": "1.4.2",
//	  "image_id": "sha256:<64 hex>",        // optional, derived when absent
//	  "image_size": 73400320,               // bytes
//	  "latest_update_time": "2026-03-01T10:00:00Z",
//	  "instance_id": "", "instance_url": "", // instance_image only
//	  "files_num": 812, "files_size": 7012345678, // optional, 64-bit
//	  "vul_num": 12, "unsafe_setting_num": 1, "malicious_file_num": 0, // optional findings
//	  "malformed_stats": true,              // optional: undecodable statistics
//	  "oversized_stats": 8388608,           // optional: statistics padded by this many bytes
//	  "forced_outcome": "failed",           // optional terminal scan status
//	  "unsynced": true                      // optional, hidden until synchronize
//	}]}
func LoadInventory(path string) ([]Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read inventory: %w", err)
	}
	var doc struct {
		Images []Image `json:"images"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse inventory %s: %w", path, err)
	}
	for i, img := range doc.Images {
		if err := validate(img); err != nil {
			return nil, fmt.Errorf("inventory %s: image %d (%s/%s:%s): %w", path, i, img.Namespace, img.Name, img.Tag, err)
		}
	}
	return doc.Images, nil
}

func validate(img Image) error {
	switch {
	case !validType(img.Type):
		return fmt.Errorf("unknown image_type %q", img.Type)
	case img.Namespace == "" || img.Name == "" || img.Tag == "":
		return fmt.Errorf("namespace, image_name and image_version are required")
	case img.ImageID != "" && !digestRE.MatchString(img.ImageID):
		return fmt.Errorf("image_id must be sha256:<64 lowercase hex>")
	case img.Size < 0 || img.FilesNum < 0 || img.FilesSize < 0 ||
		img.Vulnerabilities < 0 || img.UnsafeSettings < 0 || img.MaliciousFiles < 0:
		return fmt.Errorf("sizes and counts must not be negative")
	case img.ForcedOutcome != "" && !img.ForcedOutcome.Terminal():
		return fmt.Errorf("forced_outcome %q is not a terminal scan status", img.ForcedOutcome)
	}
	return nil
}
