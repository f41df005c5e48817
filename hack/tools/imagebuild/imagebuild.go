// Package imagebuild packs prebuilt static binaries into a multi-platform
// OCI image without a Docker daemon or a base image: one layer per platform
// holding the program (/manager for the operator), /etc/passwd and
// /etc/group for the non-root user 65532, and an empty /tmp. Every
// timestamp is the given creation time, so the same binaries give the same
// digest. The simulator's image and the test cluster's pause image are
// built the same way.
package imagebuild

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// User is the image's numeric non-root user and group, as in the Dockerfile.
const User = "65532:65532"

// Program names the binary in the image (its entrypoint, /Name) and the
// image's title.
type Program struct {
	Name, Title string
}

// Manager is the operator's manager.
var Manager = Program{Name: "manager", Title: "imagescan-operator"}

// Build writes the image of bins (OS/ARCH=PATH each) as an OCI layout in
// layoutDir (none when empty) and a docker tarball of the first platform in
// tarFile, tagged ref, with every timestamp at created, and returns the
// index digest.
func Build(prog Program, bins []string, ref string, created time.Time, layoutDir, tarFile string) (v1.Hash, error) {
	if len(bins) == 0 || ref == "" || tarFile == "" || prog.Name == "" {
		return v1.Hash{}, fmt.Errorf("a program, a reference, a tarball and at least one binary are required")
	}
	at := created.UTC()
	tag, err := name.NewTag(ref)
	if err != nil {
		return v1.Hash{}, fmt.Errorf("reference: %w", err)
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	var first v1.Image
	for _, b := range bins {
		platform, path, ok := strings.Cut(b, "=")
		osName, arch, ok2 := strings.Cut(platform, "/")
		if !ok || !ok2 {
			return v1.Hash{}, fmt.Errorf("binary %q: want OS/ARCH=PATH", b)
		}
		img, err := image(prog, path, osName, arch, at)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("%s: %w", platform, err)
		}
		if first == nil {
			first = img
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}},
		})
	}
	if layoutDir != "" {
		if err := os.RemoveAll(layoutDir); err != nil {
			return v1.Hash{}, err
		}
		if _, err := layout.Write(layoutDir, idx); err != nil {
			return v1.Hash{}, fmt.Errorf("write layout: %w", err)
		}
	}
	if err := tarball.WriteToFile(tarFile, tag, first); err != nil {
		return v1.Hash{}, fmt.Errorf("write tarball: %w", err)
	}
	return idx.Digest()
}

// image is one platform's image: a single layer on nothing.
func image(prog Program, binary, osName, arch string, at time.Time) (v1.Image, error) {
	program, err := os.ReadFile(binary)
	if err != nil {
		return nil, err
	}
	data, err := layerTar(prog.Name, program, at)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, err
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.AppendLayers(base, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = osName, arch
	cfg.Config.User = User
	cfg.Config.Entrypoint = []string{"/" + prog.Name}
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = map[string]string{
		"org.opencontainers.image.title":  prog.Title,
		"org.opencontainers.image.source": "https://github.com/hss-dev/imagescan-operator",
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return nil, err
	}
	return mutate.CreatedAt(img, v1.Time{Time: at})
}

// layerTar is the layer's file system, every entry stamped at.
func layerTar(name string, program []byte, at time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	entries := []struct {
		name string
		mode int64
		body []byte
		dir  bool
	}{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, body: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: name, mode: 0o755, body: program},
		{name: "tmp/", mode: 0o1777, dir: true},
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: at, Typeflag: tar.TypeReg, Size: int64(len(e.body)), Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
