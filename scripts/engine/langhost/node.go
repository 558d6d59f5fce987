package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// nodeOptions are the project's `runtime.options` this host reads (Pulumi.yaml or
// PulumiPolicy.yaml / PulumiPlugin.yaml).
type nodeOptions struct {
	typescript bool     // ts-node registers the program's .ts files (default true)
	tsconfig   string   // tsconfig.json path for ts-node
	nodeArgs   []string // node's own flags, split on white space (no quoting)
}

func parseOptions(info *pulumirpc.ProgramInfo) (nodeOptions, error) {
	opts := nodeOptions{typescript: true}
	m := info.GetOptions().AsMap()
	if v, ok := m["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return opts, errors.New("runtime option typescript must be a boolean")
		}
		opts.typescript = b
	}
	if v, ok := m["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option tsconfig must be a string")
		}
		opts.tsconfig = s
	}
	if v, ok := m["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return opts, errors.New("runtime option nodeargs must be a string")
		}
		opts.nodeArgs = strings.Fields(s)
	}
	if v, ok := m["packagemanager"]; ok && v != "npm" && v != "auto" {
		return opts, fmt.Errorf("runtime option packagemanager %v: this host knows npm only", v)
	}
	return opts, nil
}

// env is what @pulumi/pulumi's cmd/run (and run-plugin) read of the options.
func (o nodeOptions) env() []string {
	var env []string
	if o.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if o.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+o.tsconfig)
	}
	return env
}

// node is the `node` on PATH, once its version is known to be recent enough.
func (h *host) node(ctx context.Context) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", fmt.Errorf("no node on PATH (Node.js >= %d; scripts/ensure-node.sh prints a directory that has one): %w", minNodeMajor, err)
	}
	h.mu.Lock()
	checked, done := h.nodeChecks[node]
	h.mu.Unlock()
	if done {
		return node, checked
	}
	v, err := nodeVersion(ctx, node)
	if err == nil {
		err = checkNodeVersion(node, v)
	}
	if ctx.Err() == nil { // a cancelled check says nothing about node
		h.mu.Lock()
		h.nodeChecks[node] = err
		h.mu.Unlock()
	}
	return node, err
}

func nodeVersion(ctx context.Context, node string) (string, error) {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", node, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func checkNodeVersion(node, v string) error {
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return fmt.Errorf("%s --version printed %q, not a version", node, v)
	}
	if n < minNodeMajor {
		return fmt.Errorf("%s is Node.js %s; the Pulumi SDK needs >= %d (put the directory scripts/ensure-node.sh prints first on PATH)", node, v, minNodeMajor)
	}
	return nil
}

// resolveModule finds a module's file as node's require would from dir, so hoisted and
// workspace installs resolve as they do for the program itself.
func resolveModule(ctx context.Context, node, dir, module string) (string, error) {
	if filepath.IsAbs(module) {
		return module, nil
	}
	cmd := exec.CommandContext(ctx, node, "-e", "console.log(require.resolve(process.argv[1]))", module)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.Index(msg, "Cannot find module"); i >= 0 {
			msg, _, _ = strings.Cut(msg[i:], "\n")
		}
		return "", fmt.Errorf("%s: %s; have you run `npm ci` in %s? (%v)", module, msg, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// packageJSON is what this host reads of a package.json.
type packageJSON struct {
	Name            string            `json:"name"`
	Version         string            `json:"version"`
	Dependencies    map[string]string `json:"dependencies"`
	DevDependencies map[string]string `json:"devDependencies"`
	Pulumi          struct {
		Resource         bool   `json:"resource"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Server           string `json:"server"`
		Parameterization *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
			Value   []byte `json:"value"`
		} `json:"parameterization"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}

// installedPackages lists the package directories directly under dir/node_modules (scoped
// ones included). Nested node_modules are not read: the engine asks for the providers a
// program needs, and npm installs those at the top.
func installedPackages(dir string) ([]string, error) {
	nm := filepath.Join(dir, "node_modules")
	entries, err := os.ReadDir(nm)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var dirs []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if strings.HasPrefix(name, "@") {
			scoped, err := os.ReadDir(filepath.Join(nm, name))
			if err != nil {
				continue // a scope that is not a directory
			}
			for _, s := range scoped {
				dirs = append(dirs, filepath.Join(nm, name, s.Name()))
			}
			continue
		}
		dirs = append(dirs, filepath.Join(nm, name))
	}
	return dirs, nil
}

// providerPackages are the resource providers the program's installed packages say they
// need (`"pulumi": {"resource": true}` in their package.json), e.g. kubernetes v4.34.2.
func providerPackages(dir string, log *slog.Logger) ([]*pulumirpc.PackageDependency, error) {
	dirs, err := installedPackages(dir)
	if err != nil {
		return nil, err
	}
	var pkgs []*pulumirpc.PackageDependency
	for _, d := range dirs {
		p, err := readPackageJSON(filepath.Join(d, "package.json"))
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				log.Warn("skipping a package", "err", err)
			}
			continue
		}
		if !p.Pulumi.Resource {
			continue
		}
		name := p.Pulumi.Name
		if name == "" {
			var ok bool
			if name, ok = strings.CutPrefix(p.Name, "@pulumi/"); !ok {
				log.Warn("skipping a provider package without pulumi.name", "package", p.Name)
				continue
			}
		}
		v := p.Pulumi.Version
		if v == "" {
			v = p.Version
		}
		if v != "" && !strings.HasPrefix(v, "v") {
			v = "v" + v
		}
		dep := &pulumirpc.PackageDependency{Name: name, Kind: "resource", Version: v, Server: p.Pulumi.Server}
		if pz := p.Pulumi.Parameterization; pz != nil {
			dep.Parameterization = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
		}
		pkgs = append(pkgs, dep)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return pkgs, nil
}

// programDependencies are the program's package.json dependencies and devDependencies, at
// their installed versions (the declared range where a package is not installed).
func programDependencies(dir string) ([]*pulumirpc.DependencyInfo, error) {
	p, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("the program's package.json: %w", err)
	}
	declared := map[string]string{}
	for n, v := range p.DevDependencies {
		declared[n] = v
	}
	for n, v := range p.Dependencies {
		declared[n] = v
	}
	deps := make([]*pulumirpc.DependencyInfo, 0, len(declared))
	for name, spec := range declared {
		v := spec
		if installed, err := readPackageJSON(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json")); err == nil && installed.Version != "" {
			v = installed.Version
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	sort.Slice(deps, func(i, j int) bool { return deps[i].Name < deps[j].Name })
	return deps, nil
}
