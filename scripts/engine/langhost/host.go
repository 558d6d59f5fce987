package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// The module cmd/run of @pulumi/pulumi runs a program; PULUMI_LANGUAGE_NODEJS_RUN_PATH
	// overrides it, as it does for Pulumi's own host.
	runModule       = "@pulumi/pulumi/cmd/run"
	runPathOverride = "PULUMI_LANGUAGE_NODEJS_RUN_PATH"
	// Policy packs (plugin kind "analyzer") start through cmd/run-policy-pack of the pack's own
	// @pulumi/pulumi, every other plugin kind through cmd/run-plugin.
	runPolicyPackModule = "@pulumi/pulumi/cmd/run-policy-pack"
	runPluginModule     = "@pulumi/pulumi/cmd/run-plugin"
	analyzerKind        = "analyzer"

	// cmd/run exits with 32 once it has shown the user an actionable error: the engine then
	// bails without a message of its own.
	exitAfterUserActionableMessage = 32

	// minNodeMajor is the oldest Node.js the Pulumi Node.js SDK (>= 3.250) runs on.
	minNodeMajor = 22

	// interruptGrace is how long a cancelled node process gets between SIGINT and SIGKILL.
	interruptGrace = 5 * time.Second
)

// host implements pulumirpc.LanguageRuntimeServer. Methods it does not implement (program
// generation, packing, linking, `pulumi new` prompts) answer Unimplemented.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	ctx         context.Context         // ends when the host stops serving
	stop        context.CancelCauseFunc // stops serving
	log         *slog.Logger
	tracing     string
	engineCheck time.Duration // see watchEngine

	// cancelled ends on the Cancel RPC (for good, as in Pulumi's host) or when the host stops;
	// every node process it starts ends with it.
	cancelled context.Context
	cancel    context.CancelFunc

	mu            sync.Mutex
	engineAddress string
	nodeChecks    map[string]error // node binary -> result of its version check
}

func newHost(ctx context.Context, stop context.CancelCauseFunc, log *slog.Logger, tracing string, engineCheck time.Duration) *host {
	cancelled, cancel := context.WithCancel(ctx)
	return &host{
		ctx: ctx, stop: stop, log: log, tracing: tracing, engineCheck: engineCheck,
		cancelled: cancelled, cancel: cancel,
		nodeChecks: map[string]error{},
	}
}

// setEngine records the engine's address (from the command line or Handshake) and starts
// watching it the first time.
func (h *host) setEngine(addr string) {
	h.mu.Lock()
	first := h.engineAddress == ""
	h.engineAddress = addr
	h.mu.Unlock()
	if first && addr != "" {
		h.watchEngine(addr)
	}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake is the engine's first call when it attaches to a running host
// (PULUMI_DEBUG_LANGUAGES); a host it starts itself gets the address as its argument.
func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.setEngine(req.GetEngineAddress())
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.log.Info("cancel: interrupting every node process")
	h.cancel()
	return &emptypb.Empty{}, nil
}

// Run runs a program: node <program dir's @pulumi/pulumi/cmd/run> <flags> <entry point> [args].
// The program's own failures are reported in the response, never as an RPC error.
func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	if info == nil {
		return nil, status.Error(codes.InvalidArgument, "no program info in the request (this host needs a Pulumi CLI of 2024 or later)")
	}
	opts, err := parseOptions(info)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	node, err := h.node(ctx)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	module := runModule
	if p := os.Getenv(runPathOverride); p != "" {
		module = p
	}
	script, err := resolveModule(ctx, node, info.GetProgramDirectory(), module)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env, err := runEnv(os.Environ(), req, opts)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args := append(slices.Clone(opts.nodeArgs), runArgs(req, script, h.engine(), h.tracing)...)

	err = h.runNode(ctx, node, args, func(cmd *exec.Cmd) {
		cmd.Env = env
		// Copies, not the host's own descriptors: node may switch a descriptor it shares to
		// non-blocking mode, which breaks the engine's reads of the host's output.
		cmd.Stdout = struct{ io.Writer }{os.Stdout}
		cmd.Stderr = struct{ io.Writer }{os.Stderr}
	})
	return runResult(err), nil
}

// runArgs is cmd/run's command line, in the order Pulumi's host gives it.
func runArgs(req *pulumirpc.RunRequest, script, engine, tracing string) []string {
	args := []string{script}
	flag := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	flag("monitor", req.GetMonitorAddress())
	flag("engine", engine)
	flag("organization", req.GetOrganization())
	flag("project", req.GetProject())
	flag("root-directory", req.GetInfo().GetRootDirectory())
	flag("stack", req.GetStack())
	flag("pwd", req.GetInfo().GetProgramDirectory())
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	flag("parallel", strconv.Itoa(int(req.GetParallel())))
	flag("tracing", tracing)
	entry := req.GetInfo().GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	return append(args, req.GetArgs()...)
}

// runEnv is the program's environment: the host's, the stack's config and its secret keys, and
// the TypeScript settings cmd/run reads.
func runEnv(base []string, req *pulumirpc.RunRequest, opts nodeOptions) ([]string, error) {
	cfg, err := configJSON(req.GetConfig())
	if err != nil {
		return nil, err
	}
	keys := req.GetConfigSecretKeys()
	if keys == nil {
		keys = []string{}
	}
	secret, err := json.Marshal(keys)
	if err != nil {
		return nil, err
	}
	env := append(slices.Clone(base), "PULUMI_CONFIG="+cfg, "PULUMI_CONFIG_SECRET_KEYS="+string(secret))
	return append(env, opts.env()...), nil
}

// configJSON serialises the stack's config for PULUMI_CONFIG. Keys go in the old
// `<namespace>:config:<name>` form, which every @pulumi/pulumi reads (Pulumi's host does the same).
func configJSON(cfg map[string]string) (string, error) {
	out := make(map[string]string, len(cfg))
	for k, v := range cfg {
		ns, name, ok := strings.Cut(k, ":")
		if rest, old := strings.CutPrefix(name, "config:"); old {
			name = rest
		}
		if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			return "", fmt.Errorf("config key %q is not of the form <namespace>:<name>", k)
		}
		out[ns+":config:"+name] = v
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// runResult turns the end of a program into the engine's answer.
func runResult(err error) *pulumirpc.RunResponse {
	if err == nil {
		return &pulumirpc.RunResponse{}
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not run the program with node: %v", err)}
	}
	switch code := exit.ExitCode(); code {
	case exitAfterUserActionableMessage:
		return &pulumirpc.RunResponse{Bail: true}
	case -1:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited unexpectedly: %v", exit)}
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", code)}
	}
}

// RunPlugin runs a plugin written in Node.js and streams its output to the engine, which reads
// the plugin's port from the first line of its stdout. For a policy pack (kind analyzer):
// node <pack's @pulumi/pulumi/cmd/run-policy-pack> <engine's args> <pack dir>, in the pack's
// folder. For other kinds: node <cmd/run-plugin> <plugin dir> <engine's args>, in the engine's
// working directory. The environment is the one the engine sends.
//
// @pulumi/policy (>= 1.x) answers the engine's ConfigureStack itself, so unlike Pulumi's host
// this one does not proxy the analyzer to hand the pack its stack configuration at start.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	ctx := stream.Context()
	info := req.GetInfo()
	if info == nil {
		return status.Error(codes.InvalidArgument, "no program info in the request (this host needs a Pulumi CLI of 2024 or later)")
	}
	dir := info.GetProgramDirectory()
	opts, err := parseOptions(info)
	if err != nil {
		return err
	}
	node, err := h.node(ctx)
	if err != nil {
		return err
	}

	out := &streamOutput{stream: stream}
	module, args, wd := runPluginModule, append([]string{dir}, req.GetArgs()...), req.GetPwd()
	if req.GetKind() == analyzerKind {
		module, args, wd = runPolicyPackModule, append(slices.Clone(req.GetArgs()), dir), dir
	} else if p := os.Getenv(runPathOverride); p != "" {
		module = p
	}
	script, err := resolveModule(ctx, node, dir, module)
	if err != nil {
		// On the plugin's stderr too: the engine recognises node's "Cannot find module
		// '@pulumi/pulumi/cmd/run-policy-pack'" and tells the user to install the pack's packages.
		_, _ = out.stderr().Write([]byte(err.Error() + "\n"))
		return status.Error(codes.FailedPrecondition, err.Error())
	}

	var env []string
	if len(req.GetEnv()) > 0 {
		env = slices.Clone(req.GetEnv())
	} else {
		env = os.Environ()
	}
	env = append(env, opts.env()...)
	cmdArgs := append(slices.Clone(opts.nodeArgs), script)
	cmdArgs = append(cmdArgs, args...)

	h.log.Debug("run plugin", "kind", req.GetKind(), "name", req.GetName())
	err = h.runNode(ctx, node, cmdArgs, func(cmd *exec.Cmd) {
		cmd.Dir = wd
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = out.stdout(), out.stderr()
	})
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return status.Errorf(codes.Unknown, "plugin %s exited with non-zero exit code: %d", pluginLabel(req), exit.ExitCode())
		}
		return status.Errorf(codes.Internal, "could not run plugin %s with node: %v", pluginLabel(req), err)
	}
	return nil
}

func pluginLabel(req *pulumirpc.RunPluginRequest) string {
	if req.GetName() != "" {
		return req.GetName()
	}
	return req.GetInfo().GetProgramDirectory()
}

// runNode runs node with args, interrupted (then killed) when the request ends, the engine
// calls Cancel, or the host stops. setup sets the command's directory, environment and output.
func (h *host) runNode(ctx context.Context, node string, args []string, setup func(*exec.Cmd)) error {
	cmdCtx, cancel := context.WithCancel(h.cancelled)
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	cmd := exec.CommandContext(cmdCtx, node, args...)
	cmd.Cancel = func() error {
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			return cmd.Process.Kill()
		}
		return nil
	}
	cmd.WaitDelay = interruptGrace
	setup(cmd)
	h.log.Debug("node", "args", args, "dir", cmd.Dir)
	return cmd.Run()
}

// streamOutput sends a plugin's stdout and stderr to the engine. A gRPC stream takes one
// Send at a time, and exec copies the two pipes in two goroutines, hence the lock.
type streamOutput struct {
	mu     sync.Mutex
	stream grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]
}

type streamWriter struct {
	out    *streamOutput
	stderr bool
}

func (o *streamOutput) stdout() io.Writer { return &streamWriter{out: o} }
func (o *streamOutput) stderr() io.Writer { return &streamWriter{out: o, stderr: true} }

func (w *streamWriter) Write(p []byte) (int, error) {
	b := slices.Clone(p)
	msg := &pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}}
	if w.stderr {
		msg.Output = &pulumirpc.RunPluginResponse_Stderr{Stderr: b}
	}
	w.out.mu.Lock()
	defer w.out.mu.Unlock()
	if err := w.out.stream.Send(msg); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	pkgs, err := providerPackages(req.GetInfo().GetProgramDirectory(), h.log)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetRequiredPackagesResponse{Packages: pkgs}, nil
}

// GetRequiredPlugins is the deprecated form of GetRequiredPackages, for older engines.
func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	pkgs, err := providerPackages(req.GetInfo().GetProgramDirectory(), h.log)
	if err != nil {
		return nil, err
	}
	plugins := make([]*pulumirpc.PluginDependency, 0, len(pkgs))
	for _, p := range pkgs {
		plugins = append(plugins, &pulumirpc.PluginDependency{Name: p.Name, Kind: p.Kind, Version: p.Version, Server: p.Server})
	}
	return &pulumirpc.GetRequiredPluginsResponse{Plugins: plugins}, nil
}

func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	deps, err := programDependencies(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("no node on PATH: %w", err)
	}
	v, err := nodeVersion(ctx, node)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: node,
		Version:    v,
		Metadata:   map[string]string{"packagemanager": "npm", "languagehost": "sample-app minimal host " + version},
	}, nil
}

// InstallDependencies installs nothing: `npm ci` in the program (and the policy pack) is the
// user's step on this repository.
func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest, stream grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	msg := fmt.Sprintf("sample-app's language host installs nothing: run `npm ci` in %s\n", req.GetInfo().GetProgramDirectory())
	return stream.Send(&pulumirpc.InstallDependenciesResponse{Stdout: []byte(msg)})
}
