package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// The tests start the host as a subprocess: the test binary itself, which runs the host's
// main when this variable is set (so `go test -race` races the host too).
const asHostEnv = "LANGHOST_TEST_AS_HOST"

func TestMain(m *testing.M) {
	if os.Getenv(asHostEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fakeScript stands in for @pulumi/pulumi's cmd/run, cmd/run-plugin and cmd/run-policy-pack:
// it records what it was started with into the file named by its `record=` argument or
// FAKE_RECORD, prints to stdout and stderr, and ends as its `exit=` argument (or FAKE_EXIT)
// says: a code, or `sleep` to wait until interrupted.
const fakeScript = `
const fs = require("fs");
const args = process.argv.slice(2);
const opt = (name) => {
  const a = args.find((x) => x.startsWith(name + "="));
  return a ? a.slice(name.length + 1) : process.env["FAKE_" + name.toUpperCase()];
};
const env = {};
for (const k of ["PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_NODEJS_TYPESCRIPT",
                 "PULUMI_NODEJS_TSCONFIG_PATH", "FAKE_MARK"]) {
  if (k in process.env) env[k] = process.env[k];
}
fs.writeFileSync(opt("record"), JSON.stringify({
  script: process.argv[1], args, execArgv: process.execArgv, cwd: process.cwd(), env,
}));
process.stdout.write("4242\n");
process.stderr.write("a line on stderr\n");
const exit = opt("exit") || "0";
if (exit === "sleep") {
  setInterval(() => {}, 1000);
} else {
  process.exitCode = Number(exit);
}
`

type record struct {
	Script   string            `json:"script"`
	Args     []string          `json:"args"`
	ExecArgv []string          `json:"execArgv"`
	Cwd      string            `json:"cwd"`
	Env      map[string]string `json:"env"`
}

func readRecord(t *testing.T, path string) record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the fake script left no record: %v", err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("record %s: %v", b, err)
	}
	return r
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeProgram is a program directory whose node_modules has a fake @pulumi/pulumi (cmd/run,
// cmd/run-plugin, cmd/run-policy-pack), two provider packages and a plain one.
func fakeProgram(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	nm := filepath.Join(dir, "node_modules")
	for _, cmd := range []string{"run", "run-plugin", "run-policy-pack"} {
		writeFile(t, filepath.Join(nm, "@pulumi", "pulumi", "cmd", cmd, "index.js"), fakeScript)
	}
	writeFile(t, filepath.Join(nm, "@pulumi", "pulumi", "package.json"), `{"name": "@pulumi/pulumi", "version": "3.270.0"}`)
	writeFile(t, filepath.Join(nm, "@pulumi", "kubernetes", "package.json"),
		`{"name": "@pulumi/kubernetes", "version": "4.34.2", "pulumi": {"resource": true, "name": "kubernetes", "version": "4.34.2"}}`)
	writeFile(t, filepath.Join(nm, "@pulumi", "random", "package.json"),
		`{"name": "@pulumi/random", "version": "4.21.2", "pulumi": {"resource": true}}`)
	writeFile(t, filepath.Join(nm, "left-pad", "package.json"), `{"name": "left-pad", "version": "1.3.0"}`)
	writeFile(t, filepath.Join(dir, "package.json"), `{
  "name": "tiny", "main": "index.ts",
  "dependencies": {"@pulumi/pulumi": "3.270.0", "@pulumi/kubernetes": "^4.34.0", "not-installed": "^2.0.0"},
  "devDependencies": {"left-pad": "^1.0.0"}
}`)
	writeFile(t, filepath.Join(dir, "index.ts"), "export const x = 1;\n")
	return dir
}

// fakeEngine serves the gRPC health service, which the host polls to see the engine is alive.
func fakeEngine(t *testing.T) (addr string, stop func()) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go func() { _ = srv.Serve(lis) }()
	var once sync.Once
	stop = func() { once.Do(srv.Stop) }
	t.Cleanup(stop)
	return lis.Addr().String(), stop
}

// syncBuffer collects a subprocess's output for assertions while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type hostProcess struct {
	client pulumirpc.LanguageRuntimeClient
	cmd    *exec.Cmd
	stdout *syncBuffer // after the port line
	stderr *syncBuffer
	exited chan error
}

// startHost starts the host with the engine address as its argument, reads its port from
// its first line of stdout, and connects.
func startHost(t *testing.T, engine string, env []string, flags ...string) *hostProcess {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args := append(flags, engine)
	cmd := exec.Command(self, args...)
	cmd.Env = append(append(os.Environ(), asHostEnv+"=1"), env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	hp := &hostProcess{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stderr = hp.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	port := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		port <- strings.TrimSpace(line)
		_, _ = io.Copy(hp.stdout, r)
	}()
	go func() {
		<-copied // Wait closes the pipe: read all of it first
		hp.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-hp.exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("the host did not stop on SIGTERM; stderr:\n%s", hp.stderr)
		}
	})

	var p string
	select {
	case p = <-port:
	case <-time.After(30 * time.Second):
		t.Fatalf("the host printed no port; stderr:\n%s", hp.stderr)
	}
	if _, err := strconv.Atoi(p); err != nil {
		t.Fatalf("the host's first line is %q, not a port; stderr:\n%s", p, hp.stderr)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+p, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	hp.client = pulumirpc.NewLanguageRuntimeClient(conn)
	return hp
}

func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("these tests need Node.js >= %d on PATH (export PATH=\"$(scripts/ensure-node.sh):$PATH\"): %v", minNodeMajor, err)
	}
	v, err := nodeVersion(context.Background(), node)
	if err == nil {
		err = checkNodeVersion(node, v)
	}
	if err != nil {
		t.Fatal(err)
	}
	return node
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// setup is what most tests start from: Node.js checked, a fake engine, a host started with
// flags, a context, and a fake program directory.
func setup(t *testing.T, flags ...string) (h *hostProcess, ctx context.Context, dir, engine string) {
	t.Helper()
	requireNode(t)
	engine, _ = fakeEngine(t)
	return startHost(t, engine, nil, flags...), testContext(t), fakeProgram(t), engine
}

func programInfo(dir string, options map[string]any) *pulumirpc.ProgramInfo {
	opts, err := structpb.NewStruct(options)
	if err != nil {
		panic(err)
	}
	return &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: ".", Options: opts}
}

func TestGetPluginInfoAndAbout(t *testing.T) {
	node := requireNode(t)
	engine, _ := fakeEngine(t)
	h := startHost(t, engine, nil)
	ctx := testContext(t)

	info, err := h.client.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.GetVersion(), "0.0.0+sample-app.") {
		t.Errorf("version %q: want 0.0.0+sample-app.<hash>, never a version of Pulumi's own host", info.GetVersion())
	}
	if _, err := h.client.Handshake(ctx, &pulumirpc.LanguageHandshakeRequest{EngineAddress: engine}); err != nil {
		t.Errorf("Handshake: %v", err)
	}
	about, err := h.client.About(ctx, &pulumirpc.AboutRequest{Info: programInfo(t.TempDir(), nil)})
	if err != nil {
		t.Fatal(err)
	}
	if about.GetExecutable() != node || !strings.HasPrefix(about.GetVersion(), "v") {
		t.Errorf("About = %s %s, want %s v…", about.GetExecutable(), about.GetVersion(), node)
	}
}

func TestRequiredPackagesAndDependencies(t *testing.T) {
	h, ctx, dir, _ := setup(t)

	pkgs, err := h.client.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: programInfo(dir, nil)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs.GetPackages() {
		got = append(got, p.GetKind()+" "+p.GetName()+" "+p.GetVersion())
	}
	want := []string{"resource kubernetes v4.34.2", "resource random v4.21.2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetRequiredPackages = %q, want %q", got, want)
	}

	plugins, err := h.client.GetRequiredPlugins(ctx, &pulumirpc.GetRequiredPluginsRequest{Info: programInfo(dir, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if len(plugins.GetPlugins()) != 2 {
		t.Errorf("GetRequiredPlugins = %v, want kubernetes and random", plugins.GetPlugins())
	}

	// A directory without node_modules needs nothing.
	none, err := h.client.GetRequiredPackages(ctx, &pulumirpc.GetRequiredPackagesRequest{Info: programInfo(t.TempDir(), nil)})
	if err != nil || len(none.GetPackages()) != 0 {
		t.Errorf("GetRequiredPackages of an empty directory = %v, %v; want nothing", none.GetPackages(), err)
	}

	deps, err := h.client.GetProgramDependencies(ctx, &pulumirpc.GetProgramDependenciesRequest{Info: programInfo(dir, nil)})
	if err != nil {
		t.Fatal(err)
	}
	got = nil
	for _, d := range deps.GetDependencies() {
		got = append(got, d.GetName()+"@"+d.GetVersion())
	}
	want = []string{"@pulumi/kubernetes@4.34.2", "@pulumi/pulumi@3.270.0", "left-pad@1.3.0", "not-installed@^2.0.0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetProgramDependencies = %q, want %q", got, want)
	}

	inst, err := h.client.InstallDependencies(ctx, &pulumirpc.InstallDependenciesRequest{Info: programInfo(dir, nil)})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := inst.Recv()
	if err != nil || !strings.Contains(string(msg.GetStdout()), "npm ci") {
		t.Errorf("InstallDependencies said %q, %v; want it to point at npm ci", msg.GetStdout(), err)
	}
}

func runRequest(dir, recordPath, exit string) *pulumirpc.RunRequest {
	return &pulumirpc.RunRequest{
		Project:          "tiny",
		Stack:            "dev",
		Organization:     "organization",
		Pwd:              dir,
		Args:             []string{"record=" + recordPath, "exit=" + exit},
		Config:           map[string]string{"tiny:greeting": "hello", "kubernetes:renderYamlToDirectory": "out", "tiny:config:old": "form"},
		ConfigSecretKeys: []string{"tiny:greeting"},
		DryRun:           true,
		Parallel:         16,
		MonitorAddress:   "127.0.0.1:50001",
		Info:             programInfo(dir, map[string]any{"typescript": true, "packagemanager": "npm"}),
	}
}

func TestRun(t *testing.T) {
	h, ctx, dir, engine := setup(t, "--tracing", "http://127.0.0.1:9411/api/v1/spans")
	rec := filepath.Join(t.TempDir(), "run.json")

	resp, err := h.client.Run(ctx, runRequest(dir, rec, "0"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetError() != "" || resp.GetBail() {
		t.Fatalf("Run = %v, want success", resp)
	}
	r := readRecord(t, rec)
	if want := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", "run", "index.js"); r.Script != want {
		t.Errorf("script %s, want %s", r.Script, want)
	}
	wantArgs := []string{
		"--monitor", "127.0.0.1:50001",
		"--engine", engine,
		"--organization", "organization",
		"--project", "tiny",
		"--root-directory", dir,
		"--stack", "dev",
		"--pwd", dir,
		"--dry-run",
		"--parallel", "16",
		"--tracing", "http://127.0.0.1:9411/api/v1/spans",
		".",
		"record=" + rec, "exit=0",
	}
	if !reflect.DeepEqual(r.Args, wantArgs) {
		t.Errorf("cmd/run's arguments:\n got %q\nwant %q", r.Args, wantArgs)
	}
	var cfg map[string]string
	if err := json.Unmarshal([]byte(r.Env["PULUMI_CONFIG"]), &cfg); err != nil {
		t.Fatalf("PULUMI_CONFIG %q: %v", r.Env["PULUMI_CONFIG"], err)
	}
	wantCfg := map[string]string{"tiny:config:greeting": "hello", "kubernetes:config:renderYamlToDirectory": "out", "tiny:config:old": "form"}
	if !reflect.DeepEqual(cfg, wantCfg) {
		t.Errorf("PULUMI_CONFIG = %v, want %v", cfg, wantCfg)
	}
	if got := r.Env["PULUMI_CONFIG_SECRET_KEYS"]; got != `["tiny:greeting"]` {
		t.Errorf("PULUMI_CONFIG_SECRET_KEYS = %q", got)
	}
	if got := r.Env["PULUMI_NODEJS_TYPESCRIPT"]; got != "true" {
		t.Errorf("PULUMI_NODEJS_TYPESCRIPT = %q, want true (cmd/run then registers ts-node)", got)
	}
	if got := h.stdout.String(); !strings.Contains(got, "4242") {
		t.Errorf("the program's stdout did not reach the host's: %q", got)
	}

	// A preview without dry-run, with no secrets and the TypeScript options off or set.
	req := runRequest(dir, rec, "0")
	req.DryRun, req.ConfigSecretKeys, req.Config = false, nil, nil
	req.Info = programInfo(dir, map[string]any{"typescript": false, "tsconfig": "tsconfig.pulumi.json", "nodeargs": "--no-deprecation --max-old-space-size=512"})
	if resp, err := h.client.Run(ctx, req); err != nil || resp.GetError() != "" {
		t.Fatalf("Run = %v, %v", resp, err)
	}
	r = readRecord(t, rec)
	for _, a := range r.Args {
		if a == "--dry-run" {
			t.Errorf("--dry-run passed on an update: %q", r.Args)
		}
	}
	if r.Env["PULUMI_CONFIG"] != "{}" || r.Env["PULUMI_CONFIG_SECRET_KEYS"] != "[]" {
		t.Errorf("empty config: PULUMI_CONFIG=%q PULUMI_CONFIG_SECRET_KEYS=%q, want {} and []", r.Env["PULUMI_CONFIG"], r.Env["PULUMI_CONFIG_SECRET_KEYS"])
	}
	if _, set := r.Env["PULUMI_NODEJS_TYPESCRIPT"]; set || r.Env["PULUMI_NODEJS_TSCONFIG_PATH"] != "tsconfig.pulumi.json" {
		t.Errorf("typescript false / tsconfig: env %v", r.Env)
	}
	if want := []string{"--no-deprecation", "--max-old-space-size=512"}; !reflect.DeepEqual(r.ExecArgv, want) {
		t.Errorf("node's own flags %q, want %q", r.ExecArgv, want)
	}
}

func TestRunFailures(t *testing.T) {
	h, ctx, dir, _ := setup(t)
	rec := filepath.Join(t.TempDir(), "run.json")

	resp, err := h.client.Run(ctx, runRequest(dir, rec, "1"))
	if err != nil {
		t.Fatalf("a failing program is an RPC error (%v); want it in the response", err)
	}
	if resp.GetError() != "Program exited with non-zero exit code: 1" || resp.GetBail() {
		t.Errorf("exit 1: Run = %v", resp)
	}

	resp, err = h.client.Run(ctx, runRequest(dir, rec, "32"))
	if err != nil || resp.GetError() != "" || !resp.GetBail() {
		t.Errorf("exit 32 (the program already told the user): Run = %v, %v; want bail", resp, err)
	}

	resp, err = h.client.Run(ctx, runRequest(t.TempDir(), rec, "0"))
	if err != nil || !strings.Contains(resp.GetError(), "npm ci") || !strings.Contains(resp.GetError(), "Cannot find module") {
		t.Errorf("no node_modules: Run = %v, %v; want an error pointing at npm ci", resp, err)
	}

	req := runRequest(dir, rec, "0")
	req.Config = map[string]string{"nonamespace": "x"}
	resp, err = h.client.Run(ctx, req)
	if err != nil || !strings.Contains(resp.GetError(), "nonamespace") {
		t.Errorf("bad config key: Run = %v, %v", resp, err)
	}
}

func TestOldNodeRefused(t *testing.T) {
	bin := t.TempDir()
	writeFile(t, filepath.Join(bin, "node"), "#!/bin/sh\necho v20.11.1\n")
	if err := os.Chmod(filepath.Join(bin, "node"), 0o755); err != nil {
		t.Fatal(err)
	}
	engine, _ := fakeEngine(t)
	h := startHost(t, engine, []string{"PATH=" + bin})
	resp, err := h.client.Run(testContext(t), runRequest(t.TempDir(), "unused", "0"))
	if err != nil || !strings.Contains(resp.GetError(), "v20.11.1") || !strings.Contains(resp.GetError(), ">= 22") {
		t.Errorf("Node 20: Run = %v, %v; want a refusal naming the version", resp, err)
	}
}

// pluginRun is what a RunPlugin stream brought back.
type pluginRun struct {
	stdout, stderr string
	err            error
}

func runPlugin(ctx context.Context, t *testing.T, c pulumirpc.LanguageRuntimeClient, req *pulumirpc.RunPluginRequest) pluginRun {
	t.Helper()
	stream, err := c.RunPlugin(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var out pluginRun
	for {
		msg, err := stream.Recv()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				out.err = err
			}
			return out
		}
		out.stdout += string(msg.GetStdout())
		out.stderr += string(msg.GetStderr())
	}
}

func TestRunPluginPolicyPack(t *testing.T) {
	h, ctx, pack, engine := setup(t)
	elsewhere := t.TempDir()
	rec := filepath.Join(t.TempDir(), "pack.json")
	env := []string{"PATH=" + os.Getenv("PATH"), "FAKE_RECORD=" + rec, "FAKE_MARK=from-the-engine"}

	req := &pulumirpc.RunPluginRequest{
		Pwd:  elsewhere,
		Args: []string{engine},
		Env:  append(env, "FAKE_EXIT=0"),
		Info: programInfo(pack, nil),
		Kind: "analyzer",
		Name: "sample-app-policy",
	}
	out := runPlugin(ctx, t, h.client, req)
	if out.err != nil {
		t.Fatalf("RunPlugin: %v (stderr %q)", out.err, out.stderr)
	}
	if out.stdout != "4242\n" || out.stderr != "a line on stderr\n" {
		t.Errorf("streamed stdout %q, stderr %q", out.stdout, out.stderr)
	}
	r := readRecord(t, rec)
	if want := filepath.Join(pack, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack", "index.js"); r.Script != want {
		t.Errorf("script %s, want %s", r.Script, want)
	}
	if want := []string{engine, pack}; !reflect.DeepEqual(r.Args, want) {
		t.Errorf("run-policy-pack's arguments %q, want %q (the engine's, then the pack's folder)", r.Args, want)
	}
	if r.Cwd != pack {
		t.Errorf("run-policy-pack ran in %s, want the pack's folder %s", r.Cwd, pack)
	}
	if r.Env["FAKE_MARK"] != "from-the-engine" || r.Env["PULUMI_NODEJS_TYPESCRIPT"] != "true" {
		t.Errorf("environment %v: want the engine's and PULUMI_NODEJS_TYPESCRIPT=true", r.Env)
	}

	req.Env = append(env, "FAKE_EXIT=3")
	out = runPlugin(ctx, t, h.client, req)
	if out.err == nil || !strings.Contains(out.err.Error(), "non-zero exit code: 3") {
		t.Errorf("a pack exiting 3: RunPlugin error %v", out.err)
	}

	req.Info = programInfo(t.TempDir(), nil)
	out = runPlugin(ctx, t, h.client, req)
	if out.err == nil || !strings.Contains(out.stderr, "Cannot find module '@pulumi/pulumi/cmd/run-policy-pack'") {
		t.Errorf("a pack without node_modules: error %v, stderr %q; want node's 'Cannot find module' (the engine then says to install the pack's packages)", out.err, out.stderr)
	}
}

func TestRunPluginProvider(t *testing.T) {
	h, ctx, dir, engine := setup(t)
	pwd, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(t.TempDir(), "plugin.json")
	out := runPlugin(ctx, t, h.client, &pulumirpc.RunPluginRequest{
		Pwd:  pwd,
		Args: []string{engine},
		Env:  []string{"PATH=" + os.Getenv("PATH"), "FAKE_RECORD=" + rec},
		Info: programInfo(dir, nil),
		Kind: "resource",
		Name: "sample-app",
	})
	if out.err != nil {
		t.Fatalf("RunPlugin: %v", out.err)
	}
	r := readRecord(t, rec)
	if !strings.HasSuffix(r.Script, filepath.Join("cmd", "run-plugin", "index.js")) {
		t.Errorf("script %s, want cmd/run-plugin", r.Script)
	}
	if want := []string{dir, engine}; !reflect.DeepEqual(r.Args, want) || r.Cwd != pwd {
		t.Errorf("run-plugin: args %q in %s, want %q in %s", r.Args, r.Cwd, want, pwd)
	}
}

func TestCancelInterruptsTheProgram(t *testing.T) {
	h, ctx, dir, _ := setup(t)
	rec := filepath.Join(t.TempDir(), "run.json")

	done := make(chan *pulumirpc.RunResponse, 1)
	go func() {
		resp, err := h.client.Run(ctx, runRequest(dir, rec, "sleep"))
		if err != nil {
			resp = &pulumirpc.RunResponse{Error: "rpc: " + err.Error()}
		}
		done <- resp
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(rec); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program never started; stderr:\n%s", h.stderr)
		}
	}
	if _, err := h.client.Cancel(ctx, &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if !strings.Contains(resp.GetError(), "Program exited unexpectedly") {
			t.Errorf("cancelled Run = %v, want the interrupted program's error", resp)
		}
	case <-time.After(interruptGrace + 10*time.Second):
		t.Fatal("Cancel did not stop the program")
	}
}

// Older engines (Pulumi YAML 1.25's host, on the SDK of 3.206) start the host with -root=DIR
// before the engine's address: it must still serve.
func TestHostTakesTheRootFlagOfOlderEngines(t *testing.T) {
	engine, _ := fakeEngine(t)
	h := startHost(t, engine, nil, "-root="+t.TempDir())
	if _, err := h.client.GetPluginInfo(testContext(t), &emptypb.Empty{}); err != nil {
		t.Fatalf("GetPluginInfo: %v; stderr:\n%s", err, h.stderr)
	}
}

func TestHostExitsWhenTheEngineIsGone(t *testing.T) {
	engine, stop := fakeEngine(t)
	h := startHost(t, engine, nil, "--engine-check", "100ms")
	if _, err := h.client.GetPluginInfo(testContext(t), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	stop()
	select {
	case err := <-h.exited:
		h.exited <- err // for the cleanup
		if err != nil {
			t.Errorf("the host exited with %v; stderr:\n%s", err, h.stderr)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("the host outlived its engine; stderr:\n%s", h.stderr)
	}
}
