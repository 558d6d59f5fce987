// Command pulumi-sdkgen is a codegen-only language host for the Pulumi CLI, written for this
// repository's engine room: run as `pulumi-language-python` or `pulumi-language-go` (links that
// scripts/engine/build-langhost.sh sdkgen makes), it answers the CLI's GeneratePackage with
// Pulumi's own code generators (github.com/pulumi/pulumi/pkg/v3/codegen/python and .../go) at
// the CLI's version, so `pulumi package gen-sdk --language python|go` runs on these machines.
//
// Only for machines without a Pulumi install: since 2024 the CLI asks the language's host to
// generate an SDK, and the Python and Go hosts (sdk/python/cmd/pulumi-language-python/v3,
// sdk/go/pulumi-language-go/v3) are refused by the Go module proxy here (403), while the
// generators themselves live in pulumi/pkg, which is served. Users have Pulumi's own hosts with
// their CLI. It runs no program and links nothing: every other RPC answers Unimplemented.
//
// What GeneratePackage does is what Pulumi's hosts do: bind the schema with the CLI's schema
// loader (for references to other packages, e.g. kubernetes), generate, write the files.
//
// Usage (the engine's own command line for language plugins):
//
//	pulumi-language-python|pulumi-language-go [flags the engine passes] [ENGINE_ADDRESS]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	pygen "github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is set at build time (-X main.version=...) to 0.0.0+sample-app.<hash of the sources>.
var version = "0.0.0+sample-app.dev"

// generators by the language the binary is run as: the tool name each writes into the SDK's
// header, and how it turns a bound package into files.
var generators = map[string]func(*schema.Package, *pulumirpc.GeneratePackageRequest, schema.ReferenceLoader) (map[string][]byte, error){
	"python": func(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest, loader schema.ReferenceLoader) (map[string][]byte, error) {
		return pygen.GeneratePackage("pulumi-language-python", pkg, req.GetExtraFiles(), loader)
	},
	"go": func(pkg *schema.Package, req *pulumirpc.GeneratePackageRequest, _ schema.ReferenceLoader) (map[string][]byte, error) {
		if len(req.GetExtraFiles()) > 0 {
			return nil, errors.New("overlays are not supported for Go")
		}
		return gogen.GeneratePackage("pulumi-language-go", pkg, req.GetLocalDependencies())
	},
}

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	language string
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) Handshake(context.Context, *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GeneratePackage binds the schema (other packages through the CLI's loader), generates the
// SDK and writes it under req.Directory. Binding errors come back as diagnostics, as the CLI expects.
func (h *host) GeneratePackage(_ context.Context, req *pulumirpc.GeneratePackageRequest) (*pulumirpc.GeneratePackageResponse, error) {
	client, err := schema.NewLoaderClient(req.GetLoaderTarget())
	if err != nil {
		return nil, err
	}
	defer client.Close()
	loader := schema.NewCachedLoader(client)

	var spec schema.PackageSpec
	if err := json.Unmarshal([]byte(req.GetSchema()), &spec); err != nil {
		return nil, fmt.Errorf("the schema: %w", err)
	}
	pkg, diags, err := schema.BindSpec(spec, loader, schema.ValidationOptions{AllowDanglingReferences: true})
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GeneratePackageResponse{Diagnostics: plugin.HclDiagnosticsToRPCDiagnostics(diags)}
	if diags.HasErrors() {
		return resp, nil
	}
	files, err := generators[h.language](pkg, req, loader)
	if err != nil {
		return nil, err
	}
	for name, data := range files {
		out := filepath.Join(req.GetDirectory(), name)
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return nil, err
		}
		if err := os.WriteFile(out, data, 0o600); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// languageOf is the language the binary is run as: pulumi-language-<language>.
func languageOf(arg0 string) (string, error) {
	name := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	lang, ok := strings.CutPrefix(name, "pulumi-language-")
	if _, known := generators[lang]; !ok || !known {
		return "", fmt.Errorf("run as pulumi-language-python or pulumi-language-go, not %s", name)
	}
	return lang, nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(version)
		return
	}
	lang, err := languageOf(os.Args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-sdkgen: %v\n", err)
		os.Exit(2)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-sdkgen: listen on 127.0.0.1: %v\n", err)
		os.Exit(1)
	}
	gs := grpc.NewServer(grpc.MaxRecvMsgSize(400 * 1024 * 1024))
	pulumirpc.RegisterLanguageRuntimeServer(gs, &host{language: lang})
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	hs.SetServingStatus(pulumirpc.LanguageRuntime_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	// The engine reads the port from the first line of stdout, and kills the host when it is done
	// with it; a signal stops it too.
	fmt.Printf("%d\n", lis.Addr().(*net.TCPAddr).Port)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		gs.Stop()
	}()
	// Nor does it outlive a CLI that was killed: it stops once its parent is gone.
	go func(parent int) {
		for range time.Tick(2 * time.Second) {
			if os.Getppid() != parent {
				stop()
				return
			}
		}
	}(os.Getppid())
	if err := gs.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		fmt.Fprintf(os.Stderr, "pulumi-sdkgen: %v\n", err)
		os.Exit(1)
	}
}
