package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// startHost serves a host over real gRPC on a kernel-chosen port, as main does, and returns a client for it.
func startHost(t *testing.T, h *host) pulumirpc.LanguageRuntimeClient {
	t.Helper()
	cancel := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: cancel,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := grpc.NewClient(
		"127.0.0.1:"+strconv.Itoa(handle.Port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		close(cancel)
		<-handle.Done
	})
	return pulumirpc.NewLanguageRuntimeClient(conn)
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

func TestGetRequiredPackages(t *testing.T) {
	dir := t.TempDir()
	command := `{"name":"@pulumi/command","version":"1.2.1","pulumi":{"resource":true,"name":"command","version":"1.2.1"}}`
	writeFile(t, filepath.Join(dir, "node_modules/@pulumi/command/package.json"), command)
	// A nested copy of the same package must be reported once; ordinary packages and junk are ignored.
	writeFile(t, filepath.Join(dir, "node_modules/other/node_modules/@pulumi/command/package.json"), command)
	writeFile(t, filepath.Join(dir, "node_modules/other/package.json"), `{"name":"other","version":"1.0.0"}`)
	writeFile(t, filepath.Join(dir, "node_modules/broken/package.json"), `{not json`)

	client := startHost(t, newHost("", ""))
	resp, err := client.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{RootDirectory: dir, ProgramDirectory: dir, EntryPoint: "."},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Packages) != 1 {
		t.Fatalf("want exactly one package, got %v", resp.Packages)
	}
	p := resp.Packages[0]
	if p.Name != "command" || p.Version != "v1.2.1" || p.Kind != "resource" {
		t.Fatalf("got %s %s %s, want command v1.2.1 resource", p.Name, p.Version, p.Kind)
	}
}

func TestFindPulumiPackagesReadsOnlyPackageRoots(t *testing.T) {
	dir := t.TempDir()
	nm := filepath.Join(dir, "node_modules")
	plugin := func(name string) string {
		return fmt.Sprintf(`{"name":"%s","version":"1.0.0","pulumi":{"resource":true,"name":"%s"}}`, name, filepath.Base(name))
	}
	writeFile(t, filepath.Join(nm, "plain/package.json"), plugin("plain"))
	writeFile(t, filepath.Join(nm, "@scope/scoped/package.json"), plugin("@scope/scoped"))
	writeFile(t, filepath.Join(nm, "host/package.json"), `{"name":"host","version":"1.0.0"}`)
	writeFile(t, filepath.Join(nm, "host/node_modules/@pulumi/nested/package.json"), plugin("@pulumi/nested"))
	// Not package roots: a package's own folders, and dot-folders such as caches.
	writeFile(t, filepath.Join(nm, "host/lib/fixture/package.json"), plugin("fixture"))
	writeFile(t, filepath.Join(nm, ".cache/cached/package.json"), plugin("cached"))
	// A linked package (npm link, workspaces), and a link cycle that must not hang the walk.
	writeFile(t, filepath.Join(dir, "linked-src/package.json"), plugin("linked"))
	if err := os.Symlink(filepath.Join(dir, "linked-src"), filepath.Join(nm, "linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(nm, filepath.Join(nm, "host/node_modules/loop")); err != nil {
		t.Fatal(err)
	}

	var names []string
	for _, p := range findPulumiPackages(nm) {
		names = append(names, p.name)
	}
	if want := []string{"linked", "nested", "plain", "scoped"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}

func TestGetRequiredPackagesWithoutNodeModules(t *testing.T) {
	client := startHost(t, newHost("", ""))
	resp, err := client.GetRequiredPackages(context.Background(), &pulumirpc.GetRequiredPackagesRequest{
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: t.TempDir()},
	})
	if err != nil || len(resp.Packages) != 0 {
		t.Fatalf("want no packages and no error, got %v, %v", resp, err)
	}
}

func TestBuildRunArgs(t *testing.T) {
	req := &pulumirpc.RunRequest{
		MonitorAddress: "127.0.0.1:5000",
		Organization:   "org",
		Project:        "stagewise",
		Stack:          "dev",
		Pwd:            "/home/op/project",
		Program:        "index.ts",
		DryRun:         true,
		Parallel:       16,
		Args:           []string{"a", "b"},
		Info:           &pulumirpc.ProgramInfo{RootDirectory: "/home/op/project", ProgramDirectory: "/home/op/project", EntryPoint: "index.ts"},
	}
	got := buildRunArgs(req, "/home/op/project/node_modules/@pulumi/pulumi/cmd/run", "127.0.0.1:4000", "http://trace", nil)
	want := []string{
		"/home/op/project/node_modules/@pulumi/pulumi/cmd/run",
		"--monitor", "127.0.0.1:5000",
		"--engine", "127.0.0.1:4000",
		"--organization", "org",
		"--project", "stagewise",
		"--root-directory", "/home/op/project",
		"--stack", "dev",
		"--pwd", "/home/op/project",
		"--dry-run",
		"--parallel", "16",
		"--tracing", "http://trace",
		"index.ts", "a", "b",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("args:\n got %q\nwant %q", got, want)
	}

	// Empty values are omitted, node arguments come first, and the program defaults to ".".
	got = buildRunArgs(&pulumirpc.RunRequest{MonitorAddress: "m"}, "run", "", "", []string{"--no-warnings"})
	want = []string{"--no-warnings", "run", "--monitor", "m", "--parallel", "0", "."}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("args:\n got %q\nwant %q", got, want)
	}
}

func TestParseArgs(t *testing.T) {
	cases := []struct {
		args            []string
		engine, tracing string
	}{
		{[]string{"127.0.0.1:1"}, "127.0.0.1:1", ""},
		{[]string{"--logtostderr", "-v=9", "--tracing", "http://t", "127.0.0.1:2"}, "127.0.0.1:2", "http://t"},
		{[]string{"-tracing=http://u", "--root", "/x", "--unknown", "127.0.0.1:3"}, "127.0.0.1:3", "http://u"},
		{nil, "", ""},
	}
	for _, c := range cases {
		engine, tracing := parseArgs(c.args)
		if engine != c.engine || tracing != c.tracing {
			t.Errorf("parseArgs(%q) = %q, %q; want %q, %q", c.args, engine, tracing, c.engine, c.tracing)
		}
	}
}

// TestRun runs a fake launcher script through node to check the environment it receives and how exit codes
// map to RunResponse.
func TestRun(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "fake-run.js")
	writeFile(t, script, `
const config = JSON.parse(process.env.PULUMI_CONFIG);
const secrets = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS);
if (process.env.PULUMI_NODEJS_TYPESCRIPT !== "true" || !Array.isArray(secrets)) process.exit(99);
process.exit(Number(config["test:exit"] || 0));
`)
	t.Setenv(runPathEnvVar, script)
	client := startHost(t, newHost("127.0.0.1:1", ""))

	run := func(code string) *pulumirpc.RunResponse {
		t.Helper()
		resp, err := client.Run(context.Background(), &pulumirpc.RunRequest{
			MonitorAddress: "127.0.0.1:2",
			Pwd:            dir,
			Config:         map[string]string{"test:exit": code},
			Info:           &pulumirpc.ProgramInfo{ProgramDirectory: dir, EntryPoint: ".", Options: &structpb.Struct{}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if resp := run("0"); resp.Error != "" || resp.Bail {
		t.Errorf("exit 0: got %v", resp)
	}
	if resp := run("32"); !resp.Bail || resp.Error != "" {
		t.Errorf("exit 32: want bail, got %v", resp)
	}
	if resp := run("3"); resp.Error != "Program exited with non-zero exit code: 3" {
		t.Errorf("exit 3: got %v", resp)
	}
}

// TestRunCancel checks that Cancel interrupts a running program and Run then reports an error.
func TestRunCancel(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "hang.js")
	writeFile(t, script, `setInterval(() => {}, 1000);`)
	t.Setenv(runPathEnvVar, script)
	client := startHost(t, newHost("", ""))

	done := make(chan *pulumirpc.RunResponse)
	go func() {
		resp, err := client.Run(context.Background(), &pulumirpc.RunRequest{
			MonitorAddress: "m", Pwd: dir, Info: &pulumirpc.ProgramInfo{ProgramDirectory: dir},
		})
		if err != nil {
			t.Error(err)
		}
		done <- resp
	}()
	time.Sleep(500 * time.Millisecond) // let node start
	if _, err := client.Cancel(context.Background(), &emptypb.Empty{}); err != nil {
		t.Fatal(err)
	}
	select {
	case resp := <-done:
		if resp == nil || resp.Error == "" {
			t.Errorf("want an error after Cancel, got %v", resp)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after Cancel")
	}
}

// TestRunPlugin runs a fake plugin launcher through RunPlugin: its arguments, working directory and environment,
// its output streamed back per pipe, and its exit code as the last message.
func TestRunPlugin(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH")
	}
	dir := t.TempDir()
	pack := filepath.Join(dir, "pack")
	if err := os.Mkdir(pack, 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "fake-run-plugin.js")
	writeFile(t, script, `
process.stdout.write("12345\n");
process.stderr.write(JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), ts: process.env.PULUMI_NODEJS_TYPESCRIPT, mine: process.env.FROM_ENGINE }));
process.exit(Number(process.argv[3] === "engine:1" ? 7 : 1));
`)
	t.Setenv(runPluginPathEnvVar, script)
	client := startHost(t, newHost("", ""))

	options, err := structpb.NewStruct(map[string]any{"typescript": true})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := client.RunPlugin(context.Background(), &pulumirpc.RunPluginRequest{
		Pwd:  dir,
		Args: []string{"engine:1"},
		Env:  []string{"FROM_ENGINE=yes", "PATH=" + os.Getenv("PATH")},
		Info: &pulumirpc.ProgramInfo{ProgramDirectory: pack, Options: options},
		Kind: "analyzer",
	})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	exit := int32(-100)
	for {
		msg, err := stream.Recv()
		if err != nil {
			break
		}
		switch out := msg.Output.(type) {
		case *pulumirpc.RunPluginResponse_Stdout:
			stdout.Write(out.Stdout)
		case *pulumirpc.RunPluginResponse_Stderr:
			stderr.Write(out.Stderr)
		case *pulumirpc.RunPluginResponse_Exitcode:
			exit = out.Exitcode
		}
	}
	if stdout.String() != "12345\n" {
		t.Errorf("stdout: got %q", stdout.String())
	}
	want := fmt.Sprintf(`{"args":[%q,"engine:1"],"cwd":%q,"ts":"true","mine":"yes"}`, pack, dir)
	if stderr.String() != want {
		t.Errorf("stderr:\n got %s\nwant %s", stderr.String(), want)
	}
	if exit != 7 {
		t.Errorf("exit code: got %d, want 7", exit)
	}
}
