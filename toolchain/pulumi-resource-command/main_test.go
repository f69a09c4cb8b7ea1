package main

import (
	"context"
	"errors"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

func str(s string) resource.PropertyValue { return resource.NewStringProperty(s) }

func strs(ss ...string) resource.PropertyValue {
	var vs []resource.PropertyValue
	for _, s := range ss {
		vs = append(vs, str(s))
	}
	return resource.NewArrayProperty(vs)
}

// baseState is what the state of a created Command looks like.
func baseState() resource.PropertyMap {
	return resource.PropertyMap{
		"create":                 str("echo hi"),
		"update":                 str("echo upd"),
		"delete":                 str("echo bye"),
		"dir":                    str("/tmp"),
		"environment":            resource.NewObjectProperty(resource.PropertyMap{"A": str("1")}),
		"interpreter":            strs("/bin/sh", "-c"),
		"stdin":                  str("in"),
		"triggers":               strs("t1", "t2"),
		"addPreviousOutputInEnv": resource.NewBoolProperty(true),
		"stdout":                 str("hi"),
		"stderr":                 str(""),
	}
}

func TestDiffDecisionTable(t *testing.T) {
	cases := []struct {
		name     string
		edit     func(resource.PropertyMap)
		changed  []string
		replaces []string
	}{
		{"no change", func(resource.PropertyMap) {}, nil, nil},
		{"create", func(m resource.PropertyMap) { m["create"] = str("echo other") }, []string{"create"}, nil},
		{"update", func(m resource.PropertyMap) { m["update"] = str("echo x") }, []string{"update"}, nil},
		{"delete removed", func(m resource.PropertyMap) { delete(m, "delete") }, []string{"delete"}, nil},
		{"dir", func(m resource.PropertyMap) { m["dir"] = str("/") }, []string{"dir"}, nil},
		{"environment value", func(m resource.PropertyMap) {
			m["environment"] = resource.NewObjectProperty(resource.PropertyMap{"A": str("2")})
		}, []string{"environment"}, nil},
		{"interpreter", func(m resource.PropertyMap) { m["interpreter"] = strs("/bin/bash", "-c") }, []string{"interpreter"}, nil},
		{"stdin", func(m resource.PropertyMap) { m["stdin"] = str("other") }, []string{"stdin"}, nil},
		{"logging added", func(m resource.PropertyMap) { m["logging"] = str("none") }, []string{"logging"}, nil},
		{"trigger element", func(m resource.PropertyMap) { m["triggers"] = strs("t1", "t3") }, []string{"triggers"}, []string{"triggers"}},
		{"trigger appended", func(m resource.PropertyMap) { m["triggers"] = strs("t1", "t2", "t3") }, []string{"triggers"}, []string{"triggers"}},
		{"triggers removed", func(m resource.PropertyMap) { delete(m, "triggers") }, []string{"triggers"}, []string{"triggers"}},
		{"unknown create (preview)", func(m resource.PropertyMap) {
			m["create"] = resource.MakeComputed(str(""))
		}, []string{"create"}, nil},
		{"secret with same value is still a change", func(m resource.PropertyMap) {
			m["stdin"] = resource.MakeSecret(str("in"))
		}, []string{"stdin"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			olds := baseState()
			news := baseState()
			delete(news, "stdout") // outputs are never inputs; must not count as deleted
			delete(news, "stderr")
			c.edit(news)
			d := diffInputs(localInputKeys, olds, news)
			if !equalStrings(d.Changed, c.changed) || !equalStrings(d.Replaces, c.replaces) {
				t.Fatalf("changed=%v replaces=%v, want changed=%v replaces=%v (detailed %v)",
					d.Changed, d.Replaces, c.changed, c.replaces, d.Detailed)
			}
			for path, pd := range d.Detailed {
				if strings.HasPrefix(path, "triggers") != pd.Kind.IsReplace() {
					t.Errorf("detailed diff %s: kind %v", path, pd.Kind)
				}
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}

func TestDiffRPCNamesProperty(t *testing.T) {
	olds, news := baseState(), baseState()
	news["triggers"] = strs("t1", "changed")
	news["create"] = str("echo new")
	o, _ := plugin.MarshalProperties(olds, marshalOpts("t"))
	n, _ := plugin.MarshalProperties(news, marshalOpts("t"))
	resp, err := newProvider(nil).Diff(context.Background(), &pulumirpc.DiffRequest{Urn: "urn:pulumi:dev::proj::command:local:Command::c", Olds: o, News: n})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Changes != pulumirpc.DiffResponse_DIFF_SOME || !reflect.DeepEqual(resp.Replaces, []string{"triggers"}) {
		t.Fatalf("unexpected diff response: %v", resp)
	}
	if k := resp.DetailedDiff["triggers[1]"].GetKind(); k != pulumirpc.PropertyDiff_UPDATE_REPLACE {
		t.Errorf("triggers[1] kind %v", k)
	}
	if k := resp.DetailedDiff["create"].GetKind(); k != pulumirpc.PropertyDiff_UPDATE {
		t.Errorf("create kind %v", k)
	}
}

func TestCheckAppliesDefault(t *testing.T) {
	if v := applyDefaults(resource.PropertyMap{})["addPreviousOutputInEnv"]; !v.IsBool() || !v.BoolValue() {
		t.Fatalf("default not applied: %v", v)
	}
	m := resource.PropertyMap{"addPreviousOutputInEnv": resource.NewBoolProperty(false)}
	if applyDefaults(m)["addPreviousOutputInEnv"].BoolValue() {
		t.Fatal("explicit false overwritten")
	}
}

func TestBuildEnv(t *testing.T) {
	in := parseInputs(resource.PropertyMap{
		"environment": resource.NewObjectProperty(resource.PropertyMap{
			"B": resource.MakeSecret(str("2")), "A": str("1"),
		}),
	})
	got := buildEnv([]string{"PATH=/bin"}, in, "out", "err")
	want := []string{"PATH=/bin", "A=1", "B=2", "PULUMI_COMMAND_STDOUT=out", "PULUMI_COMMAND_STDERR=err"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Empty previous outputs are not set (as upstream).
	if got := buildEnv(nil, in, "", "e"); !reflect.DeepEqual(got, []string{"A=1", "B=2", "PULUMI_COMMAND_STDERR=e"}) {
		t.Errorf("got %v", got)
	}
	in.AddPreviousOutputInEnv = false
	if got := buildEnv(nil, in, "out", "err"); !reflect.DeepEqual(got, []string{"A=1", "B=2"}) {
		t.Errorf("addPreviousOutputInEnv=false: got %v", got)
	}
}

func TestParseInputsDefaults(t *testing.T) {
	in := parseInputs(resource.PropertyMap{"create": str("x")})
	if in.Create == nil || *in.Create != "x" || in.Update != nil || in.Delete != nil {
		t.Fatalf("commands: %+v", in)
	}
	if !in.AddPreviousOutputInEnv || !in.logsStdout() || !in.logsStderr() {
		t.Fatalf("defaults: %+v", in)
	}
	in.Logging = "none"
	if in.logsStdout() || in.logsStderr() {
		t.Fatal("logging none still logs")
	}
}

func TestRunCapturesOutput(t *testing.T) {
	var logged []string
	log := func(l string) { logged = append(logged, l) }
	stdout, stderr, err := runCommand(context.Background(), runOptions{
		Command: "echo hi; echo err >&2", LogStdout: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "hi" || stderr != "err" {
		t.Fatalf("stdout=%q stderr=%q", stdout, stderr)
	}
	if !reflect.DeepEqual(logged, []string{"hi"}) {
		t.Errorf("logged %q", logged)
	}
}

func TestRunStdinEnvDir(t *testing.T) {
	dir := t.TempDir()
	stdout, _, err := runCommand(context.Background(), runOptions{
		Command: `read line; echo "$line $FOO $(pwd)"`,
		Stdin:   "from-stdin\n",
		Env:     []string{"FOO=bar"},
		Dir:     dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "from-stdin bar "+dir {
		t.Fatalf("stdout=%q", stdout)
	}
}

func TestRunFailureNamesExitCode(t *testing.T) {
	_, _, err := runCommand(context.Background(), runOptions{Command: "echo oops >&2; exit 3"})
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Fatalf("want exit code 3, got %v", err)
	}
	if !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "oops") {
		t.Fatalf("error lacks exit code or output: %v", err)
	}
}

func TestBackgroundChildDoesNotHang(t *testing.T) {
	defer func(d time.Duration) { lingerDelay = d }(lingerDelay)
	lingerDelay = 200 * time.Millisecond
	start := time.Now()
	stdout, _, err := runCommand(context.Background(), runOptions{Command: "echo started; sleep 5 &"})
	if err != nil || stdout != "started" {
		t.Fatalf("stdout=%q err=%v", stdout, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatalf("waited %v for a background child", time.Since(start))
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	p := newProvider(nil)
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		// The grandchild `sleep` must die too, or Wait would block on the pipe.
		_, _, err := p.execute(context.Background(), "", "sleep 30 & sleep 30; wait", commandInputs{}, "", "")
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	p.cancelAll(5 * time.Second)
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("cancelled command reported success")
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("cancel took %v", time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("command not killed by Cancel")
	}
}

func TestCreateUpdateDeleteLifecycle(t *testing.T) {
	p := newProvider(nil)
	ctx := context.Background()
	urn := "urn:pulumi:dev::proj::command:local:Command::c"
	news := resource.PropertyMap{
		"create": str("echo created"),
		"update": str(`echo "was:$PULUMI_COMMAND_STDOUT"`),
		"delete": str(`test "$PULUMI_COMMAND_STDOUT" = "was:created"`),
		"stdin":  resource.MakeSecret(str("s")),
	}
	props, _ := plugin.MarshalProperties(applyDefaults(news), marshalOpts("t"))

	// Preview: nothing runs, outputs unknown.
	pre, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: props, Preview: true})
	if err != nil {
		t.Fatal(err)
	}
	preOut, _ := plugin.UnmarshalProperties(pre.Properties, marshalOpts("t"))
	if !preOut["stdout"].ContainsUnknowns() {
		t.Fatalf("preview stdout should be unknown: %v", preOut["stdout"])
	}

	created, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: urn, Properties: props})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(created.Id, "c") || len(created.Id) != 9 {
		t.Errorf("id %q", created.Id)
	}
	state, _ := plugin.UnmarshalProperties(created.Properties, marshalOpts("t"))
	if !state["stdout"].IsSecret() || plain(state["stdout"]).StringValue() != "created" {
		t.Fatalf("stdout should be secret \"created\" (secret input): %v", state["stdout"])
	}

	updated, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: urn, Olds: created.Properties, News: props})
	if err != nil {
		t.Fatal(err)
	}
	state, _ = plugin.UnmarshalProperties(updated.Properties, marshalOpts("t"))
	if got := plain(state["stdout"]).StringValue(); got != "was:created" {
		t.Fatalf("update stdout %q", got)
	}

	// The delete command checks that it sees the previous stdout.
	if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: urn, Properties: updated.Properties}); err != nil {
		t.Fatal(err)
	}
	// No delete command: nothing to do, always succeeds.
	noDel, _ := plugin.MarshalProperties(resource.PropertyMap{"create": str("true")}, marshalOpts("t"))
	for i := 0; i < 2; i++ {
		if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: urn, Properties: noDel}); err != nil {
			t.Fatal(err)
		}
	}
}
