package main

// The semantics of command:local:Command, kept free of gRPC so they can be
// unit-tested. They follow upstream pulumi-command 1.2.1
// (provider/pkg/provider/local/*.go), which is built on pulumi-go-provider's
// `infer` package; where behaviour comes from `infer` rather than from the
// command code itself, the comment says so.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
)

// localInputKeys lists every input of command:local:Command (see
// @pulumi/command/local/command.d.ts). Outputs echo exactly these (plus
// stdout/stderr), and Diff looks only at these, because the old state also
// holds outputs that never appear in the new inputs. (remote.go has the list
// for command:remote:Command.)
var localInputKeys = []resource.PropertyKey{
	"addPreviousOutputInEnv", "archivePaths", "assetPaths", "create", "delete", "dir",
	"environment", "interpreter", "logging", "stdin", "triggers", "update",
}

// The environment variables that carry the previous run's outputs.
const (
	envPrevStdout = "PULUMI_COMMAND_STDOUT"
	envPrevStderr = "PULUMI_COMMAND_STDERR"
)

// commandInputs is the decoded, plain (secret-free) form of the inputs, as
// needed to actually run something.
type commandInputs struct {
	Create, Update, Delete *string // nil when not given
	Dir                    string  // "" = the plugin's working directory (the Pulumi project dir)
	Environment            map[string]string
	Interpreter            []string // empty = ["/bin/sh", "-c"]
	Stdin                  string
	AddPreviousOutputInEnv bool   // defaults to true
	Logging                string // "" (= both), stdout, stderr, stdoutAndStderr, none

	// Connection is set for command:remote:Command only (see remote.go):
	// the command then runs over ssh instead of locally.
	Connection *connectionInputs
}

// plain strips secret (and known output) wrappers: commands need the real
// values. Secretness of the outputs is handled separately (see outputsFor).
func plain(v resource.PropertyValue) resource.PropertyValue {
	for {
		switch {
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			if !v.OutputValue().Known {
				return resource.MakeComputed(resource.NewStringProperty(""))
			}
			v = v.OutputValue().Element
		default:
			return v
		}
	}
}

func optString(props resource.PropertyMap, k resource.PropertyKey) *string {
	if v := plain(props[k]); v.IsString() {
		s := v.StringValue()
		return &s
	}
	return nil
}

func parseInputs(props resource.PropertyMap) commandInputs {
	in := commandInputs{
		Create:                 optString(props, "create"),
		Update:                 optString(props, "update"),
		Delete:                 optString(props, "delete"),
		AddPreviousOutputInEnv: true,
	}
	if s := optString(props, "dir"); s != nil {
		in.Dir = *s
	}
	if s := optString(props, "stdin"); s != nil {
		in.Stdin = *s
	}
	if s := optString(props, "logging"); s != nil {
		in.Logging = *s
	}
	if v := plain(props["addPreviousOutputInEnv"]); v.IsBool() {
		in.AddPreviousOutputInEnv = v.BoolValue()
	}
	if v := plain(props["environment"]); v.IsObject() {
		in.Environment = map[string]string{}
		for k, e := range v.ObjectValue() {
			if e = plain(e); e.IsString() {
				in.Environment[string(k)] = e.StringValue()
			}
		}
	}
	if v := plain(props["interpreter"]); v.IsArray() {
		for _, e := range v.ArrayValue() {
			if e = plain(e); e.IsString() {
				in.Interpreter = append(in.Interpreter, e.StringValue())
			}
		}
	}
	return in
}

// applyDefaults mirrors upstream's schema default addPreviousOutputInEnv=true,
// which `infer` writes into the checked inputs (and hence into the state).
func applyDefaults(news resource.PropertyMap) resource.PropertyMap {
	out := news.Copy()
	if v, ok := out["addPreviousOutputInEnv"]; !ok || v.IsNull() {
		out["addPreviousOutputInEnv"] = resource.NewBoolProperty(true)
	}
	return out
}

// inputDiff is the provider's answer to Diff.
type inputDiff struct {
	Changed  []string                       // top-level keys that changed
	Replaces []string                       // top-level keys that force a replacement
	Detailed map[string]plugin.PropertyDiff // path ("triggers[0]") -> kind
}

// diffInputs compares the old state's inputs (keys: the resource type's input
// keys) with the new inputs, the way
// upstream's `infer` default Diff does:
//
//   - any change to `triggers` (added, removed, or any element) replaces the
//     resource (the field is tagged replaceOnChanges; the Node SDK also sends
//     replaceOnChanges ["triggers[*]"] to the engine);
//   - every other input change (create, update, delete, dir, environment,
//     interpreter, stdin, logging, addPreviousOutputInEnv, asset/archive paths;
//     for remote commands also connection) is an in-place update. Update then runs `update`, or `create` when
//     `update` is not set. Upstream never replaces for those, even without an
//     `update` command, because Command implements Update.
//   - DeleteBeforeReplace stays false (create the new one, then delete the old).
func diffInputs(keys []resource.PropertyKey, olds, news resource.PropertyMap) inputDiff {
	oldIn, newIn := resource.PropertyMap{}, resource.PropertyMap{}
	for _, k := range keys {
		if v, ok := olds[k]; ok {
			oldIn[k] = v
		}
		if v, ok := news[k]; ok {
			newIn[k] = v
		}
	}
	d := inputDiff{Detailed: plugin.NewDetailedDiffFromObjectDiff(oldIn.Diff(newIn), false)}
	changed, replaces := map[string]bool{}, map[string]bool{}
	for path, pd := range d.Detailed {
		top := path
		if parsed, err := resource.ParsePropertyPath(path); err == nil && len(parsed) > 0 {
			if s, ok := parsed[0].(string); ok {
				top = s
			}
		}
		changed[top] = true
		if top == "triggers" {
			pd.Kind = pd.Kind.AsReplace()
			d.Detailed[path] = pd
			replaces[top] = true
		}
	}
	d.Changed, d.Replaces = sortedKeys(changed), sortedKeys(replaces)
	return d
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// buildEnv returns the command's environment: the plugin's own environment,
// then commandEnv (later entries win in os/exec).
func buildEnv(base []string, in commandInputs, prevStdout, prevStderr string) []string {
	return append(append([]string(nil), base...), commandEnv(in, prevStdout, prevStderr)...)
}

// commandEnv returns the K=V pairs a command gets on top of its base
// environment: `environment` (sorted by name), then, when enabled, the
// previous run's stdout/stderr. Like upstream, empty previous outputs are not
// set at all. Local commands add them to the plugin's environment; remote
// ones export them in front of the command.
func commandEnv(in commandInputs, prevStdout, prevStderr string) []string {
	var env []string
	keys := make([]string, 0, len(in.Environment))
	for k := range in.Environment {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+in.Environment[k])
	}
	if in.AddPreviousOutputInEnv {
		if prevStdout != "" {
			env = append(env, envPrevStdout+"="+prevStdout)
		}
		if prevStderr != "" {
			env = append(env, envPrevStderr+"="+prevStderr)
		}
	}
	return env
}

// logsStdout/logsStderr follow upstream's Logging enum: unset means both.
func (in commandInputs) logsStdout() bool {
	return in.Logging == "" || in.Logging == "stdout" || in.Logging == "stdoutAndStderr"
}

func (in commandInputs) logsStderr() bool {
	return in.Logging == "" || in.Logging == "stderr" || in.Logging == "stdoutAndStderr"
}

// runOptions describes one process to run.
type runOptions struct {
	Command     string
	Interpreter []string
	Dir         string
	Env         []string
	Stdin       string
	// Called with each complete output line as it arrives (nil = don't log).
	LogStdout, LogStderr func(line string)
}

// errorOutputLimit bounds how much of the command's output goes into an error.
const errorOutputLimit = 16 << 10

// lingerDelay is how long we wait, after the shell has exited, for leftover
// background processes to release stdout/stderr. Upstream would wait forever
// (e.g. `create: "server &"` hangs `pulumi up`); we stop reading instead.
// A variable only so the test can shorten it.
var lingerDelay = 10 * time.Second

// runCommand runs `interpreter... command` and returns its stdout and stderr,
// each without one trailing newline (as upstream). A failure (including a
// non-zero exit) returns an error naming the exit status and the tail of the
// combined output.
//
// The process gets its own process group so that cancelling ctx (the engine's
// Cancel, or the RPC going away) kills everything the command started, not
// just the shell.
func runCommand(ctx context.Context, o runOptions) (string, string, error) {
	args := o.Interpreter
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c"}
	}
	args = append(append([]string(nil), args...), o.Command)

	var stdout, stderr bytes.Buffer
	combined := &lockedBuffer{}
	outLog, errLog := newLineWriter(o.LogStdout), newLineWriter(o.LogStderr)

	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = o.Dir
	cmd.Env = o.Env
	if o.Stdin != "" {
		cmd.Stdin = strings.NewReader(o.Stdin)
	}
	// os/exec copies each stream in its own goroutine, so stdout and stderr
	// (and their line loggers) are never written concurrently; only the
	// combined buffer is shared.
	cmd.Stdout = io.MultiWriter(&stdout, combined, outLog)
	cmd.Stderr = io.MultiWriter(&stderr, combined, errLog)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = lingerDelay

	err := cmd.Run()
	outLog.flush()
	errLog.flush()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The command itself succeeded; only a leftover background process
		// still held the output pipes open.
		err = nil
	}
	if err != nil {
		return "", "", fmt.Errorf("%w: running %q:\n%s", err, o.Command, tail(combined.String(), errorOutputLimit))
	}
	return strings.TrimSuffix(stdout.String(), "\n"), strings.TrimSuffix(stderr.String(), "\n"), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "...(output truncated)...\n" + s[len(s)-n:]
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lineWriter hands complete lines to a logging callback, so progress shows up
// while a long command runs. Overlong partial lines are emitted in pieces. A
// nil *lineWriter (logging disabled) discards everything.
type lineWriter struct {
	emit    func(string)
	partial []byte
}

const maxLogLine = 64 << 10

func newLineWriter(emit func(string)) *lineWriter {
	if emit == nil {
		return nil
	}
	return &lineWriter{emit: emit}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	if w == nil {
		return len(p), nil
	}
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		w.emit(strings.TrimSuffix(string(w.partial[:i]), "\r"))
		w.partial = w.partial[i+1:]
	}
	if len(w.partial) > maxLogLine {
		w.emit(string(w.partial))
		w.partial = nil
	}
	return len(p), nil
}

func (w *lineWriter) flush() {
	if w != nil && len(w.partial) > 0 {
		w.emit(string(w.partial))
		w.partial = nil
	}
}
