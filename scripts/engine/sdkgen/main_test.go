package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// A component package with one component, a documented default and a secret input, like
// sample-app's: what the generated SDKs must carry.
const tinySchema = `{
  "name": "tiny", "version": "0.1.0",
  "resources": {
    "tiny:index:Cache": {
      "isComponent": true, "description": "A cache.",
      "inputProperties": {
        "size": {"type": "string", "description": "Volume size. Default: ` + "`1Gi`" + `."},
        "password": {"type": "string", "secret": true, "description": "The password (a Pulumi secret)."}
      },
      "properties": {"host": {"type": "string", "description": "Its host."}},
      "required": ["host"]
    }
  }
}`

// loaderTarget serves a schema loader that knows no package (the tiny schema references none).
func loaderTarget(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	schema.LoaderRegistration(schema.NewLoaderServer(schema.NewPluginLoader(nil)))(gs)
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	return lis.Addr().String()
}

func generate(t *testing.T, language string) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	h := &host{language: language}
	resp, err := h.GeneratePackage(context.Background(), &pulumirpc.GeneratePackageRequest{
		Directory: dir, Schema: tinySchema, LoaderTarget: loaderTarget(t),
	})
	if err != nil {
		t.Fatalf("GeneratePackage(%s): %v", language, err)
	}
	if len(resp.GetDiagnostics()) > 0 {
		t.Fatalf("GeneratePackage(%s): diagnostics %v", language, resp.GetDiagnostics())
	}
	files := map[string]string{}
	err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestPythonSDKCarriesDefaultsAndSecrets(t *testing.T) {
	_, files := generate(t, "python")
	cache, ok := files[filepath.Join("pulumi_tiny", "cache.py")]
	if !ok {
		t.Fatalf("no pulumi_tiny/cache.py among %d files", len(files))
	}
	for _, want := range []string{"Volume size. Default: `1Gi`.", "pulumi.Output.secret(password)", "class Cache(pulumi.ComponentResource)"} {
		if !strings.Contains(cache, want) {
			t.Errorf("cache.py lacks %q", want)
		}
	}
}

func TestGoSDKCarriesDefaultsAndSecrets(t *testing.T) {
	_, files := generate(t, "go")
	var cache string
	for name, text := range files {
		if filepath.Base(name) == "cache.go" {
			cache = text
		}
	}
	if cache == "" {
		t.Fatalf("no cache.go among %v", files)
	}
	for _, want := range []string{"Volume size. Default: `1Gi`.", "pulumi.ToSecret(args.Password)", "func NewCache("} {
		if !strings.Contains(cache, want) {
			t.Errorf("cache.go lacks %q", want)
		}
	}
}

func TestRunsOnlyAsPythonOrGo(t *testing.T) {
	for arg0, want := range map[string]string{"/x/pulumi-language-python": "python", "pulumi-language-go": "go"} {
		if got, err := languageOf(arg0); err != nil || got != want {
			t.Errorf("languageOf(%q) = %q, %v; want %q", arg0, got, err, want)
		}
	}
	for _, arg0 := range []string{"pulumi-language-nodejs", "pulumi-sdkgen", "pulumi-language-"} {
		if _, err := languageOf(arg0); err == nil {
			t.Errorf("languageOf(%q) accepted a name it cannot serve", arg0)
		}
	}
}
