package install

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	. "github.com/onsi/gomega"

	"github.com/hss-dev/imagescan-operator/hack/tools/imagebuild"
	"github.com/hss-dev/imagescan-operator/internal/testenv"
)

// builtImage opens the image index make image wrote.
func builtImage(t *testing.T) v1.ImageIndex {
	t.Helper()
	p, err := layout.FromPath(artefact(t, "dist/image", "make image"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func platformImage(t *testing.T, idx v1.ImageIndex, arch string) v1.Image {
	t.Helper()
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && d.Platform.OS == "linux" && d.Platform.Architecture == arch {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no linux/%s image in the index", arch)
	return nil
}

func TestImageIsNonRootOnTwoPlatformsWithTheManagerAsEntrypoint(t *testing.T) {
	g := NewWithT(t)
	idx := builtImage(t)
	m, err := idx.IndexManifest()
	g.Expect(err).NotTo(HaveOccurred())
	var platforms []string
	for _, d := range m.Manifests {
		platforms = append(platforms, d.Platform.OS+"/"+d.Platform.Architecture)
	}
	g.Expect(platforms).To(ConsistOf("linux/amd64", "linux/arm64"))
	for _, arch := range []string{"amd64", "arm64"} {
		cfg, err := platformImage(t, idx, arch).ConfigFile()
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(cfg.Architecture).To(Equal(arch))
		g.Expect(cfg.Config.User).To(Equal("65532:65532"))
		g.Expect(cfg.Config.Entrypoint).To(Equal([]string{"/manager"}))
		g.Expect(cfg.Created.Time).NotTo(BeTemporally(">", time.Now()), "a fixed time, not the build's")
	}
}

func TestTheSameBinariesGiveTheSameDigest(t *testing.T) {
	g := NewWithT(t)
	want, err := os.ReadFile(artefact(t, "dist/image.digest", "make image"))
	g.Expect(err).NotTo(HaveOccurred())
	cfg, err := platformImage(t, builtImage(t), "amd64").ConfigFile()
	g.Expect(err).NotTo(HaveOccurred())
	bins := []string{
		"linux/amd64=" + filepath.Join(testenv.Root(), "dist/bin/manager-linux-amd64"),
		"linux/arm64=" + filepath.Join(testenv.Root(), "dist/bin/manager-linux-arm64"),
	}
	var digests []string
	for range 2 {
		dir := t.TempDir()
		d, err := imagebuild.Build(imagebuild.Manager, bins, "example.com/imagescan-operator:test", cfg.Created.Time, filepath.Join(dir, "layout"), filepath.Join(dir, "image.tar"))
		g.Expect(err).NotTo(HaveOccurred())
		digests = append(digests, d.String())
	}
	g.Expect(digests[0]).To(Equal(digests[1]))
	g.Expect(digests[0]).To(Equal(strings.TrimSpace(string(want))), "the digest make image printed")
}

func TestTheDockerTarballHoldsTheAmd64ImagesContent(t *testing.T) {
	g := NewWithT(t)
	img, err := tarball.ImageFromPath(artefact(t, "dist/image.tar", "make image"), nil)
	g.Expect(err).NotTo(HaveOccurred())
	amd64 := platformImage(t, builtImage(t), "amd64")
	// A docker tarball writes its own manifest format; the content (config
	// and layers) is the same.
	for _, digest := range []func(v1.Image) (any, error){
		func(i v1.Image) (any, error) { return i.ConfigName() },
		func(i v1.Image) (any, error) {
			ls, err := i.Layers()
			if err != nil {
				return nil, err
			}
			var ds []v1.Hash
			for _, l := range ls {
				d, err := l.Digest()
				if err != nil {
					return nil, err
				}
				ds = append(ds, d)
			}
			return ds, nil
		},
	} {
		got, err := digest(img)
		g.Expect(err).NotTo(HaveOccurred())
		want, err := digest(amd64)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(got).To(Equal(want))
	}
}

// sharedDir is a new temporary directory that another user can traverse:
// the test's directories are 0700 by default.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// extract unpacks the image's file system into a new directory.
func extract(t *testing.T, img v1.Image) string {
	t.Helper()
	dir := sharedDir(t)
	rc := mutate.Extract(img)
	defer rc.Close()
	cmd := exec.Command("tar", "-x", "-C", dir)
	cmd.Stdin = rc
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("extract: %v: %s", err, out)
	}
	return dir
}

func TestTheImagesManagerScansToReadyAsItsNonRootUser(t *testing.T) {
	g := NewWithT(t)
	root := extract(t, platformImage(t, builtImage(t), "amd64"))
	passwd, err := os.ReadFile(filepath.Join(root, "etc", "passwd"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(string(passwd)).To(ContainSubstring("nonroot:x:65532:65532"))
	info, err := os.Stat(filepath.Join(root, "manager"))
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(info.Mode().Perm() & 0o111).NotTo(BeZero())

	_, simURL := newSimulator(t, 3, 500*time.Millisecond)
	data, err := env.AdminKubeConfig("image-test")
	kubeconfig := kubeconfigFile(t, sharedDir(t), data, err)
	ns := tenant(t, g, "image-test", 3)

	startManager(t, filepath.Join(root, "manager"), kubeconfig, simURL, nil, func(cmd *exec.Cmd) {
		// As root (CI), run as the image's user, as a container runtime would.
		if os.Getuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65532, Gid: 65532}}
		}
	})

	obj := waitReady(g, ns)
	g.Expect(obj.Status.Summary.Succeeded).To(Equal(int32(3)))
	g.Expect(obj.Status.Summary.TotalFileSize).To(Equal(int64(9 << 30)))
}
