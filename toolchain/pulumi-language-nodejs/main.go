// Command pulumi-language-nodejs is a small Node.js language host for the Pulumi engine.
//
// Why this exists: Pulumi's own host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// cannot be fetched on this machine, but the Pulumi Go SDK can. The engine only needs a binary named
// pulumi-language-nodejs that speaks the LanguageRuntime gRPC protocol, so this program implements the part of
// that protocol a TypeScript project needs: find the provider plugins in node_modules, and run the program
// through the Node SDK's own launcher (@pulumi/pulumi/cmd/run), which talks to the engine by itself.
//
// It mirrors the behaviour of Pulumi's real host but deliberately leaves out its extras (monitor proxy,
// yarn/pnpm support, code generation); those RPCs stay Unimplemented, which the engine tolerates. It does run
// plugins written in Node.js (RunPlugin), which is how the engine starts a TypeScript policy pack.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

const (
	// Exit code with which the Node SDK says "I already printed a user-actionable message"; the engine should
	// then stop quietly instead of adding its own error.
	exitCodeUserActionable = 32

	// Let tests (and unusual layouts) point at different launcher scripts, as the real host does.
	runPathEnvVar       = "PULUMI_LANGUAGE_NODEJS_RUN_PATH"
	runPluginPathEnvVar = "PULUMI_LANGUAGE_NODEJS_RUN_PLUGIN_PATH"
)

func main() {
	engineAddress, tracing := parseArgs(os.Args[1:])
	h := newHost(engineAddress, tracing)

	// Stop serving on SIGINT, or when the engine stops answering health checks, so that a crashed engine
	// never leaves this process behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if engineAddress != "" {
		if err := rpcutil.Healthcheck(ctx, engineAddress, 5*time.Minute, stop); err != nil {
			fatalf("could not start health check: %v", err)
		}
	}
	cancel := make(chan bool)
	go func() { <-ctx.Done(); close(cancel) }()

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fatalf("could not start language host RPC server: %v", err)
	}

	// The engine reads exactly one line from our stdout: the port to dial.
	fmt.Printf("%d\n", handle.Port)

	if err := <-handle.Done; err != nil {
		fatalf("language host RPC stopped serving: %v", err)
	}
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", args...)
	os.Exit(1)
}

// parseArgs reads `[flags] <engineAddress>`. It is hand-written instead of using package flag because the engine
// (and older Pulumi versions) pass flags this host has no use for (--logtostderr, -v=9, --root, ...), and an
// unknown flag must not make the host exit. Only these flags consume the following argument as their value.
var valueFlags = map[string]bool{"tracing": true, "root": true, "tsconfig": true, "nodeargs": true, "packagemanager": true}

func parseArgs(args []string) (engineAddress, tracing string) {
	var positional []string
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			positional = append(positional, arg)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if valueFlags[name] && !hasValue && i+1 < len(args) {
			i++
			value = args[i]
		}
		if name == "tracing" {
			tracing = value
		}
	}
	// The engine always puts its own address last.
	if len(positional) > 0 {
		engineAddress = positional[len(positional)-1]
	}
	return engineAddress, tracing
}

// host implements pulumirpc.LanguageRuntimeServer; anything not defined here answers Unimplemented.
type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	tracing string

	mu            sync.Mutex
	engineAddress string // from the command line, or later from Handshake

	// cancelled is done once the engine calls Cancel; every running program is then interrupted.
	cancelled context.Context
	cancel    context.CancelFunc
}

func newHost(engineAddress, tracing string) *host {
	ctx, cancel := context.WithCancel(context.Background())
	return &host{engineAddress: engineAddress, tracing: tracing, cancelled: ctx, cancel: cancel}
}

func (h *host) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if addr := req.GetEngineAddress(); addr != "" {
		h.mu.Lock()
		h.engineAddress = addr
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	// version.Version is stamped at build time with -ldflags -X, so the engine sees the version it expects.
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

func (h *host) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.cancel()
	return &emptypb.Empty{}, nil
}

// firstNonEmpty returns the first non-empty value; request fields are optional depending on the engine version.
func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// ---- Plugin discovery -------------------------------------------------------------------------------------------

// pulumiPackage is a node_modules package that ships a Pulumi resource provider plugin.
type pulumiPackage struct {
	name, version, server string
	parameterization      *pulumirpc.PackageParameterization
}

// packageJSON holds the package.json fields this host reads.
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
			Value   []byte `json:"value"` // base64 in JSON
		} `json:"parameterization"`
	} `json:"pulumi"`
}

// findPulumiPackages returns, sorted and without duplicates, every package under nodeModules whose package.json
// says `"pulumi": {"resource": true}`. It reads only package roots — node_modules/<name>,
// node_modules/@scope/<name>, and the same inside each package's own node_modules — never a package's other
// folders nor dot-folders such as .bin and .cache: walking every file of a large node_modules took 0.15 s of
// each `pulumi up` here. Symlinks are followed (npm workspaces and `npm link` use them), with a visited set
// against cycles. Unreadable folders and broken package.json files are skipped: a stray file must not stop a
// deployment, and a really missing plugin is reported later by the engine.
func findPulumiPackages(nodeModules string) []pulumiPackage {
	visited := map[string]bool{}
	found := map[string]pulumiPackage{} // keyed by name@version: nested copies of one package count once

	// subfolders lists the folders (or symlinks to folders) in dir, except dot-folders.
	subfolders := func(dir string) []string {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil
		}
		var dirs []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".") {
				continue
			}
			path := filepath.Join(dir, e.Name())
			isDir := e.IsDir()
			if e.Type()&os.ModeSymlink != 0 {
				fi, err := os.Stat(path)
				isDir = err == nil && fi.IsDir()
			}
			if isDir {
				dirs = append(dirs, path)
			}
		}
		return dirs
	}

	var walkModules func(dir string)
	visitPackage := func(dir string) {
		real, err := filepath.EvalSymlinks(dir)
		if err != nil || visited[real] {
			return
		}
		visited[real] = true
		if p, ok := readPulumiPackage(filepath.Join(dir, "package.json")); ok {
			found[p.name+"@"+p.version] = p
		}
		walkModules(filepath.Join(dir, "node_modules"))
	}
	walkModules = func(dir string) {
		for _, path := range subfolders(dir) {
			if strings.HasPrefix(filepath.Base(path), "@") {
				for _, scoped := range subfolders(path) {
					visitPackage(scoped)
				}
			} else {
				visitPackage(path)
			}
		}
	}
	walkModules(nodeModules)

	pkgs := make([]pulumiPackage, 0, len(found))
	for _, p := range found {
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool {
		if pkgs[i].name != pkgs[j].name {
			return pkgs[i].name < pkgs[j].name
		}
		return pkgs[i].version < pkgs[j].version
	})
	return pkgs
}

// readPulumiPackage applies the real host's naming rules: the plugin name is pulumi.name, else the package name
// without its @pulumi/ scope; the version is pulumi.version, else the package version, always with a leading "v".
func readPulumiPackage(path string) (pulumiPackage, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return pulumiPackage{}, false
	}
	var info packageJSON
	if json.Unmarshal(b, &info) != nil || !info.Pulumi.Resource {
		return pulumiPackage{}, false
	}
	name := firstNonEmpty(info.Pulumi.Name, strings.TrimPrefix(info.Name, "@pulumi/"))
	ver := firstNonEmpty(info.Pulumi.Version, info.Version)
	if name == "" || ver == "" {
		return pulumiPackage{}, false
	}
	if !strings.HasPrefix(ver, "v") {
		ver = "v" + ver
	}
	p := pulumiPackage{name: name, version: ver, server: info.Pulumi.Server}
	if pz := info.Pulumi.Parameterization; pz != nil {
		p.parameterization = &pulumirpc.PackageParameterization{Name: pz.Name, Version: pz.Version, Value: pz.Value}
	}
	return p, true
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	dir := firstNonEmpty(req.GetInfo().GetProgramDirectory(), ".")
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, p := range findPulumiPackages(filepath.Join(dir, "node_modules")) {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: p.name, Kind: "resource", Version: p.version, Server: p.server, Parameterization: p.parameterization,
		})
	}
	return resp, nil
}

// GetRequiredPlugins is the deprecated predecessor of GetRequiredPackages, kept for older engines.
func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	dir := firstNonEmpty(req.GetInfo().GetProgramDirectory(), req.GetPwd(), req.GetProgram(), ".")
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, p := range findPulumiPackages(filepath.Join(dir, "node_modules")) {
		if p.parameterization != nil {
			continue // a parameterized package cannot be expressed as a plain plugin
		}
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: p.name, Kind: "resource", Version: p.version, Server: p.server,
		})
	}
	return resp, nil
}

// ---- Running the program ----------------------------------------------------------------------------------------

// runtimeOptions are the `runtime.options` of Pulumi.yaml that the real host honours when running a program.
type runtimeOptions struct {
	typescript bool     // run .ts sources through ts-node (default true)
	tsconfig   string   // alternative tsconfig.json path
	nodeArgs   []string // extra arguments for node itself
}

func parseRuntimeOptions(opts map[string]any) (runtimeOptions, error) {
	o := runtimeOptions{typescript: true}
	if v, ok := opts["typescript"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return o, errors.New("typescript option must be a boolean")
		}
		o.typescript = b
	}
	if v, ok := opts["tsconfig"]; ok {
		s, isString := v.(string)
		if !isString {
			return o, errors.New("tsconfig option must be a string")
		}
		o.tsconfig = s
	}
	if v, ok := opts["nodeargs"]; ok {
		s, isString := v.(string)
		if !isString {
			return o, errors.New("nodeargs option must be a string")
		}
		o.nodeArgs = strings.Fields(s) // no shell quoting support; plain flags are all we expect
	}
	return o, nil
}

// buildRunArgs returns node's full argument list for a RunRequest. It is pure so that tests can pin it down.
// The flags are those the Node SDK's launcher (@pulumi/pulumi/cmd/run) parses; empty ones are left out.
func buildRunArgs(req *pulumirpc.RunRequest, runPath, engineAddress, tracing string, nodeArgs []string) []string {
	args := append(append([]string{}, nodeArgs...), runPath)
	add := func(flag, value string) {
		if value != "" {
			args = append(args, "--"+flag, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", engineAddress)
	add("organization", req.GetOrganization())
	add("project", req.GetProject())
	add("root-directory", req.GetInfo().GetRootDirectory())
	add("stack", req.GetStack())
	add("pwd", firstNonEmpty(req.GetPwd(), req.GetInfo().GetProgramDirectory()))
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", tracing)
	// The entry point is relative to --pwd; "." lets the launcher use package.json's "main".
	args = append(args, firstNonEmpty(req.GetInfo().GetEntryPoint(), req.GetProgram(), "."))
	return append(args, req.GetArgs()...)
}

// buildRunEnv returns the variables, on top of our own environment, through which the Node SDK receives
// configuration and runtime options.
func buildRunEnv(req *pulumirpc.RunRequest, opts runtimeOptions) ([]string, error) {
	config := req.GetConfig()
	if config == nil {
		config = map[string]string{} // the SDK expects an object, never null
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env := []string{"PULUMI_CONFIG=" + string(configJSON), "PULUMI_CONFIG_SECRET_KEYS=" + string(secretKeysJSON)}
	if opts.typescript {
		env = append(env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	return env, nil
}

// findRunScript looks for node_modules/@pulumi/pulumi/cmd/run in dir and then in its parents, because npm
// workspaces hoist dependencies to the workspace root.
func findRunScript(dir string) (string, bool) {
	return findSDKScript(dir, "run")
}

// findSDKScript looks for the Node SDK's launcher node_modules/@pulumi/pulumi/cmd/<name> in dir and its parents.
func findSDKScript(dir, name string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		candidate := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", name)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find node on the $PATH: " + err.Error()}, nil
	}
	dir := firstNonEmpty(req.GetPwd(), req.GetInfo().GetProgramDirectory(), ".")

	runPath := os.Getenv(runPathEnvVar)
	if runPath == "" {
		var ok bool
		if runPath, ok = findRunScript(firstNonEmpty(req.GetInfo().GetProgramDirectory(), dir)); !ok {
			return &pulumirpc.RunResponse{Error: "It looks like the Pulumi SDK has not been installed " +
				"(no node_modules/@pulumi/pulumi). Have you run npm install?"}, nil
		}
	}

	opts, err := parseRuntimeOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	extraEnv, err := buildRunEnv(req, opts)
	if err != nil {
		return &pulumirpc.RunResponse{Error: "failed to serialize configuration: " + err.Error()}, nil
	}

	// Interrupt the program when the engine abandons this call or calls Cancel. SIGINT lets the Node SDK
	// shut down cleanly; if it has not exited 30s later, exec kills it.
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	defer context.AfterFunc(h.cancelled, stop)()

	cmd := exec.CommandContext(runCtx, nodeBin, buildRunArgs(req, runPath, h.engine(), h.tracing, opts.nodeArgs)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), extraEnv...)
	// The engine reads our stdout/stderr, so the program's output goes there. The writers are wrapped so that exec
	// copies through pipes instead of handing node our own file descriptors: node switches its stdio to
	// non-blocking mode, which would otherwise leak into this process (the real host does the same).
	cmd.Stdout = struct{ io.Writer }{os.Stdout}
	cmd.Stderr = struct{ io.Writer }{os.Stderr}

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil || errors.Is(err, exec.ErrWaitDelay): // ErrWaitDelay: exited 0 but a grandchild kept the pipes
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeUserActionable:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() > 0:
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
		}, nil
	case errors.As(err, &exitErr): // killed by a signal
		return &pulumirpc.RunResponse{Error: "Program exited unexpectedly: " + err.Error()}, nil
	default:
		return &pulumirpc.RunResponse{Error: "Problem executing program (could not run node): " + err.Error()}, nil
	}
}

// ---- Plugins written in Node.js (policy packs) -----------------------------------------------------------------

// RunPlugin runs a plugin written in Node.js — for the engine, a policy pack — through the SDK's plugin launcher
// (@pulumi/pulumi/cmd/run-plugin): `node <launcher> <program directory> <args...>` in the requested working
// directory and environment. Output is streamed back as it comes; the exit code is the last message (the engine
// reads the plugin's port from its first line of output).
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer) error {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	programDir := firstNonEmpty(req.GetInfo().GetProgramDirectory(), req.GetProgram(), req.GetPwd(), ".")
	runPath := os.Getenv(runPluginPathEnvVar)
	if runPath == "" {
		var ok bool
		if runPath, ok = findSDKScript(programDir, "run-plugin"); !ok {
			return fmt.Errorf("it looks like the Pulumi SDK has not been installed for the plugin in %s "+
				"(no node_modules/@pulumi/pulumi). Have you run npm install?", programDir)
		}
	}
	opts, err := parseRuntimeOptions(req.GetInfo().GetOptions().AsMap())
	if err != nil {
		return err
	}
	args := append(append([]string{}, opts.nodeArgs...), runPath, programDir)
	args = append(args, req.GetArgs()...)

	cmd := exec.CommandContext(server.Context(), nodeBin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = firstNonEmpty(req.GetPwd(), programDir)
	cmd.Env = req.GetEnv()
	if len(cmd.Env) == 0 {
		cmd.Env = os.Environ()
	}
	if opts.typescript {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TYPESCRIPT=true")
	}
	if opts.tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+opts.tsconfig)
	}
	mu := &sync.Mutex{}
	cmd.Stdout = streamWriter{mu: mu, send: func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stdout{Stdout: b}})
	}}
	cmd.Stderr = streamWriter{mu: mu, send: func(b []byte) error {
		return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Stderr{Stderr: b}})
	}}

	code := int32(0)
	var exitErr *exec.ExitError
	switch err := cmd.Run(); {
	case err == nil || errors.Is(err, exec.ErrWaitDelay):
	case errors.As(err, &exitErr):
		code = int32(exitErr.ExitCode()) // -1 when killed by a signal
	default:
		return fmt.Errorf("could not run the plugin in %s: %w", programDir, err)
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: code}})
}

// ---- Dependencies and diagnostics -------------------------------------------------------------------------------

// streamWriter forwards output to a gRPC stream (InstallDependencies, RunPlugin) through `send`. stdout and stderr
// share one mutex because a gRPC stream must not be sent on from two goroutines at once, and exec copies each pipe
// in its own goroutine.
type streamWriter struct {
	mu   *sync.Mutex
	send func([]byte) error
}

func (w streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.send(bytes.Clone(p)); err != nil { // gRPC may serialize lazily, and exec reuses its buffer
		return 0, err
	}
	return len(p), nil
}

func (h *host) InstallDependencies(req *pulumirpc.InstallDependenciesRequest,
	server pulumirpc.LanguageRuntime_InstallDependenciesServer,
) error {
	dir := firstNonEmpty(req.GetInfo().GetProgramDirectory(), req.GetDirectory(), ".")
	mu := &sync.Mutex{}
	stdout := streamWriter{mu: mu, send: func(b []byte) error { return server.Send(&pulumirpc.InstallDependenciesResponse{Stdout: b}) }}
	stderr := streamWriter{mu: mu, send: func(b []byte) error { return server.Send(&pulumirpc.InstallDependenciesResponse{Stderr: b}) }}

	npmBin, err := exec.LookPath("npm")
	if err != nil {
		// Without npm we cannot install, but an already installed tree is good enough to run.
		if fi, statErr := os.Stat(filepath.Join(dir, "node_modules")); statErr == nil && fi.IsDir() {
			fmt.Fprintln(stdout, "npm not found on $PATH; using the existing node_modules")
			return nil
		}
		return fmt.Errorf("could not find npm on the $PATH: %w", err)
	}

	fmt.Fprint(stdout, "Installing dependencies...\n\n")
	cmd := exec.CommandContext(server.Context(), npmBin, "install")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("npm install failed in %s: %w", dir, err)
	}
	fmt.Fprint(stdout, "Finished installing dependencies\n\n")
	return nil
}

func (h *host) About(ctx context.Context, _ *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("could not find node on the $PATH: %w", err)
	}
	out, err := exec.CommandContext(ctx, nodeBin, "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("failed to run %s --version: %w", nodeBin, err)
	}
	return &pulumirpc.AboutResponse{Executable: nodeBin, Version: strings.TrimSpace(string(out))}, nil
}

// GetProgramDependencies lists the program's direct dependencies (dependencies and devDependencies of its
// package.json) with the versions actually installed in node_modules, or the declared range if not installed.
// Transitive dependencies are not listed even when asked for; this is informational (`pulumi about`).
func (h *host) GetProgramDependencies(_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := firstNonEmpty(req.GetInfo().GetProgramDirectory(), req.GetPwd(), ".")
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var pkg packageJSON
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("could not parse %s: %w", filepath.Join(dir, "package.json"), err)
	}
	declared := map[string]string{}
	for name, ver := range pkg.DevDependencies {
		declared[name] = ver
	}
	for name, ver := range pkg.Dependencies {
		declared[name] = ver
	}

	resp := &pulumirpc.GetProgramDependenciesResponse{}
	for name, ver := range declared {
		var installed packageJSON
		if b, err := os.ReadFile(filepath.Join(dir, "node_modules", name, "package.json")); err == nil &&
			json.Unmarshal(b, &installed) == nil && installed.Version != "" {
			ver = installed.Version
		}
		resp.Dependencies = append(resp.Dependencies, &pulumirpc.DependencyInfo{Name: name, Version: ver})
	}
	sort.Slice(resp.Dependencies, func(i, j int) bool { return resp.Dependencies[i].Name < resp.Dependencies[j].Name })
	return resp, nil
}
