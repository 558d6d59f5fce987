// Command pulumi-language-nodejs is a minimal Node.js language host for the Pulumi engine,
// written for this repository's engine room.
//
// Only for machines without a Pulumi install: Pulumi's own Node.js language host
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3) is refused by the
// registries here, and without a language host the CLI can neither run a program from a
// shell (`pulumi preview`) nor start a Node.js policy pack (`--policy-pack policy/`).
// It is never shipped to users, who run Pulumi's own host; the Automation API's inline
// programs (scripts/cluster) stay the main path and need no language host at all.
//
// scripts/engine/build-langhost.sh builds it into $HOME/.cache/sample-app-engine/bin; the
// engine finds it as `pulumi-language-nodejs` on PATH, like Pulumi's own host.
//
// What it does, on the SDK's LanguageRuntime protocol (pulumirpc):
//
//   - Run: `node <program dir's @pulumi/pulumi/cmd/run> --monitor … --engine … <entry point>`
//     with the stack's config in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS (cmd/run registers
//     ts-node itself when PULUMI_NODEJS_TYPESCRIPT=true, the default of a nodejs project);
//   - RunPlugin: policy packs (kind "analyzer") through @pulumi/pulumi/cmd/run-policy-pack in
//     the pack's folder, other plugins (a component provider) through cmd/run-plugin, with
//     their output streamed back to the engine;
//   - GetPluginInfo, Handshake, GetRequiredPackages (and the deprecated GetRequiredPlugins),
//     GetProgramDependencies, About, InstallDependencies (nothing to do: `npm ci` is the
//     user's step) and Cancel.
//
// What Pulumi's host does and this one does not: the resource-monitor proxy and the pipes of
// the long-removed synchronous invokes (--sync: @pulumi/pulumi 3.270 no longer reads them),
// debugger attachment, the bun runtime, program generation (convert, sdkgen, pack, link) and
// dependency installation.
//
// Usage (the engine's own command line for language plugins):
//
//	pulumi-language-nodejs [--logtostderr] [-v=N] [--tracing URL] [--engine-check 5s] [-root DIR] [ENGINE_ADDRESS]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-X main.version=...) to 0.0.0+sample-app.<hash of the sources>,
// so the engine never records this host under a version of Pulumi's own.
var version = "0.0.0+sample-app.dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pulumi-language-nodejs", flag.ContinueOnError)
	fs.SetOutput(stderr)
	logToStderr := fs.Bool("logtostderr", false, "log to stderr (the engine passes it with --logflow)")
	verbose := fs.Int("v", 0, "log verbosity (the engine's -v); 5 and more logs every command")
	tracing := fs.String("tracing", "", "Zipkin-compatible tracing endpoint, passed on to the program")
	showVersion := fs.Bool("version", false, "print the version and exit")
	engineCheck := fs.Duration("engine-check", defaultEngineCheck, "how often to check that the engine is still there")
	// Engines built on the Pulumi SDK before 3.207 (Pulumi YAML 1.25's language host, which starts
	// component providers itself) pass the project root as a flag; every request carries the
	// program's directories, so it is accepted and ignored, as Pulumi's own host does.
	_ = fs.String("root", "", "[deprecated] the project root; requests carry the program's directories")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Fprintln(stdout, version)
		return 0
	}

	// The engine shows everything a language host writes to stderr to the user, so stay quiet
	// unless asked to log.
	level := slog.LevelWarn
	if *logToStderr || *verbose > 0 {
		level = slog.LevelInfo
		if *verbose >= 5 {
			level = slog.LevelDebug
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var engineAddress string
	if fs.NArg() > 0 {
		engineAddress = fs.Arg(0)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Stopped by a signal, or by the host itself once its engine is gone.
	sctx, stopServing := context.WithCancelCause(ctx)
	defer stopServing(nil)
	h := newHost(sctx, stopServing, log, *tracing, *engineCheck)
	if engineAddress != "" {
		h.setEngine(engineAddress)
	}
	srv, err := serve(sctx, h, log)
	if err != nil {
		fmt.Fprintf(stderr, "pulumi-language-nodejs: %v\n", err)
		return 1
	}
	// The engine reads the port from the first line of stdout.
	fmt.Fprintf(stdout, "%d\n", srv.port)

	if err := srv.wait(); err != nil {
		fmt.Fprintf(stderr, "pulumi-language-nodejs: %v\n", err)
		return 1
	}
	return 0
}
