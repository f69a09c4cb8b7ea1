// Command pulumi-resource-command is a small, compatible stand-in for the
// Pulumi "command" resource plugin (npm @pulumi/command 1.2.1), implementing
// the command:local:Command and command:remote:Command resources. Upstream's
// provider source cannot be fetched here, so this talks the provider gRPC
// protocol directly using the plain Pulumi Go SDK
// (github.com/pulumi/pulumi/sdk/v3), and runs remote commands over ssh with
// golang.org/x/crypto/ssh.
//
// command:remote:Command differs from upstream in one way on purpose: its
// connection must pin the server's host key (connection.hostKey, an
// authorized_keys style line); upstream 1.x accepts any host key.
//
// Deliberately left out: command:remote:CopyToRemote (and CopyFile/
// CopyAsset), the command:local:run and command:remote:run invokes,
// connection.proxy and connection.agentSocketPath, and assetPaths/archivePaths
// (the `assets`/`archive` outputs stay empty).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

// version is reported to the engine; it must match the version the Node SDK
// asks for (1.2.1) so the engine accepts this binary as that plugin.
// Override with -ldflags "-X main.version=...".
var version = "1.2.1"

// resourceKind is one of the resource types this provider implements.
type resourceKind struct {
	token     string
	inputKeys []resource.PropertyKey
	remote    bool // runs over ssh; has a `connection` input
}

var (
	localKind  = &resourceKind{token: "command:local:Command", inputKeys: localInputKeys}
	remoteKind = &resourceKind{token: "command:remote:Command", inputKeys: remoteInputKeys, remote: true}
)

func kindOf(urn string) (*resourceKind, error) {
	switch t := string(resource.URN(urn).Type()); t {
	case localKind.token:
		return localKind, nil
	case remoteKind.token:
		return remoteKind, nil
	default:
		return nil, fmt.Errorf("unknown resource type %q: this pulumi-resource-command build only implements %s and %s",
			t, localKind.token, remoteKind.token)
	}
}

// inputsFor decodes the inputs for running something; for a remote command
// that includes the connection, which must be complete and valid.
func inputsFor(kind *resourceKind, props resource.PropertyMap) (commandInputs, error) {
	in := parseInputs(props)
	if kind.remote {
		conn, err := parseConnection(props["connection"])
		if err != nil {
			return in, err
		}
		in.Connection = conn
	}
	return in, nil
}

func main() {
	if err := serve(); err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-command: %v\n", err)
		os.Exit(1)
	}
}

// serve implements the plugin launch protocol: the engine starts us with its
// own gRPC address as the last argument (after optional logging/tracing
// flags), and we print the port we listen on as the first line of stdout.
// (sdk/v3 no longer ships the provider.Main helper; it moved to pkg/v3.)
func serve() error {
	// Flags the engine may pass; accepted and ignored. (A private FlagSet:
	// glog, linked in via the SDK, already owns -v/-logtostderr globally.)
	flags := flag.NewFlagSet("pulumi-resource-command", flag.ContinueOnError)
	flags.Bool("logtostderr", false, "ignored")
	flags.Int("v", 0, "ignored")
	flags.String("tracing", "", "ignored")
	if err := flags.Parse(os.Args[1:]); err != nil {
		return err
	}
	if flags.NArg() == 0 {
		return errors.New("missing engine address argument (this binary is started by the Pulumi engine)")
	}
	host, err := newHostClient(flags.Arg(0))
	if err != nil {
		return fmt.Errorf("connecting to the engine: %w", err)
	}
	prov := newProvider(host)

	stop := make(chan bool)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterResourceProviderServer(s, prov)
			return nil
		},
	})
	if err != nil {
		return err
	}

	// The engine shuts plugins down with SIGINT to the plugin's process group.
	// Our commands run in process groups of their own, so they would not see
	// it: kill them ourselves, then stop serving.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		prov.cancelAll(3 * time.Second)
		close(stop)
	}()

	fmt.Printf("%d\n", handle.Port)
	return <-handle.Done
}

// hostClient sends log messages to the engine (what pkg/v3's HostClient did).
type hostClient struct {
	engine pulumirpc.EngineClient
}

func newHostClient(addr string) (*hostClient, error) {
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()), rpcutil.GrpcChannelOptions())
	if err != nil {
		return nil, err
	}
	return &hostClient{engine: pulumirpc.NewEngineClient(conn)}, nil
}

// log sends msg for urn. Ephemeral messages only show in the progress
// display's Info column (upstream logs command output that way).
func (h *hostClient) log(ctx context.Context, sev pulumirpc.LogSeverity, urn resource.URN, msg string, ephemeral bool) {
	if h == nil {
		return
	}
	_, _ = h.engine.Log(ctx, &pulumirpc.LogRequest{
		Severity:  sev,
		Message:   strings.ToValidUTF8(msg, "\uFFFD"),
		Urn:       string(urn),
		Ephemeral: ephemeral,
	})
}

// commandProvider is the gRPC ResourceProvider. RPCs not overridden here
// answer Unimplemented, which the engine tolerates (e.g. Handshake).
type commandProvider struct {
	pulumirpc.UnimplementedResourceProviderServer

	host *hostClient // nil in tests: logging is then a no-op

	// stopped is cancelled by Cancel (or a shutdown signal); every running
	// command is bound to it, and running counts them.
	stopped context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
}

func newProvider(host *hostClient) *commandProvider {
	ctx, cancel := context.WithCancel(context.Background())
	return &commandProvider{host: host, stopped: ctx, stop: cancel}
}

// cancelAll kills all running commands and waits (bounded) for them to end.
func (p *commandProvider) cancelAll(wait time.Duration) {
	p.stop()
	done := make(chan struct{})
	go func() { p.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(wait):
	}
}

// Secrets and unknowns must survive the round trip: the engine sends secrets
// as secrets (we said AcceptSecrets) and unknowns during preview.
func marshalOpts(label string) plugin.MarshalOptions {
	return plugin.MarshalOptions{Label: label, KeepUnknowns: true, KeepSecrets: true, KeepResources: true}
}

func (p *commandProvider) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetSchema is not used by deployments; a minimal package schema suffices.
func (p *commandProvider) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(`{"name":"command","version":%q}`, version)}, nil
}

// The provider has no configuration: accept whatever comes.
func (p *commandProvider) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *commandProvider) DiffConfig(context.Context, *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}, nil
}

func (p *commandProvider) Configure(context.Context, *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// Cancel is sent when the user interrupts an update and also before every
// normal plugin shutdown: kill whatever is still running and return.
func (p *commandProvider) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	p.stop()
	return &emptypb.Empty{}, nil
}

// Check applies the defaults. For local commands it reports no failures (as
// upstream does for well-typed inputs; a Command with no commands at all is
// allowed); for remote ones it reports a known-bad connection, e.g. one
// without the required hostKey.
func (p *commandProvider) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	kind, err := kindOf(req.GetUrn())
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts("check.news"))
	if err != nil {
		return nil, err
	}
	checked := applyDefaults(news)
	var failures []*pulumirpc.CheckFailure
	if kind.remote {
		checked = applyConnectionDefaults(checked)
		for _, f := range checkConnection(checked["connection"]) {
			failures = append(failures, &pulumirpc.CheckFailure{Property: "connection", Reason: f})
		}
	}
	inputs, err := plugin.MarshalProperties(checked, marshalOpts("check.inputs"))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CheckResponse{Inputs: inputs, Failures: failures}, nil
}

func (p *commandProvider) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	kind, err := kindOf(req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), marshalOpts("diff.olds"))
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts("diff.news"))
	if err != nil {
		return nil, err
	}
	d := diffInputs(kind.inputKeys, olds, news)
	resp := &pulumirpc.DiffResponse{
		Changes:         pulumirpc.DiffResponse_DIFF_NONE,
		Diffs:           d.Changed,
		Replaces:        d.Replaces,
		HasDetailedDiff: true,
		DetailedDiff:    map[string]*pulumirpc.PropertyDiff{},
	}
	if len(d.Changed) > 0 {
		resp.Changes = pulumirpc.DiffResponse_DIFF_SOME
	}
	for path, pd := range d.Detailed {
		// plugin.DiffKind and the proto enum share their numbering.
		resp.DetailedDiff[path] = &pulumirpc.PropertyDiff{Kind: pulumirpc.PropertyDiff_Kind(pd.Kind)}
	}
	return resp, nil
}

// outputsFor echoes the inputs and adds stdout/stderr. Like upstream (infer's
// default wiring, where every output depends on every input), stdout/stderr
// are secret when any input is -- except the remote connection: Check always
// makes it secret (as upstream's schema does), and counting it would make
// every remote command's output secret.
func outputsFor(kind *resourceKind, news resource.PropertyMap, stdout, stderr resource.PropertyValue) resource.PropertyMap {
	out, secretSources := resource.PropertyMap{}, resource.PropertyMap{}
	for _, k := range kind.inputKeys {
		if v, ok := news[k]; ok && !v.IsNull() {
			out[k] = v
			if k != "connection" {
				secretSources[k] = v
			}
		}
	}
	if secretSources.ContainsSecrets() {
		stdout, stderr = resource.MakeSecret(stdout), resource.MakeSecret(stderr)
	}
	out["stdout"], out["stderr"] = stdout, stderr
	return out
}

func unknownString() resource.PropertyValue {
	return resource.MakeComputed(resource.NewStringProperty(""))
}

// execute runs one lifecycle command for urn, streaming its output to the
// engine and honouring Cancel.
func (p *commandProvider) execute(ctx context.Context, urn resource.URN, command string,
	in commandInputs, prevStdout, prevStderr string,
) (string, string, error) {
	p.running.Add(1)
	defer p.running.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(p.stopped, cancel)()

	logLine := func(line string) {
		p.host.log(ctx, pulumirpc.LogSeverity_INFO, urn, line, true)
	}
	o := runOptions{
		Command:     command,
		Interpreter: in.Interpreter,
		Dir:         in.Dir,
		Stdin:       in.Stdin,
	}
	if in.logsStdout() {
		o.LogStdout = logLine
	}
	if in.logsStderr() {
		o.LogStderr = logLine
	}
	if in.Connection != nil {
		o.Env = commandEnv(in, prevStdout, prevStderr)
		return runRemote(ctx, *in.Connection, o)
	}
	o.Env = buildEnv(os.Environ(), in, prevStdout, prevStderr)
	return runCommand(ctx, o)
}

func (p *commandProvider) warnUnsupported(ctx context.Context, urn resource.URN, props resource.PropertyMap) {
	for _, k := range []resource.PropertyKey{"assetPaths", "archivePaths"} {
		if v, ok := props[k]; ok && !v.IsNull() {
			p.host.log(ctx, pulumirpc.LogSeverity_WARNING, urn,
				fmt.Sprintf("%s is not supported by this pulumi-resource-command build; assets/archive stay empty", k), false)
		}
	}
}

func (p *commandProvider) Create(ctx context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	kind, err := kindOf(req.GetUrn())
	if err != nil {
		return nil, err
	}
	urn := resource.URN(req.GetUrn())
	news, err := plugin.UnmarshalProperties(req.GetProperties(), marshalOpts("create.properties"))
	if err != nil {
		return nil, err
	}
	// Same id scheme as upstream: the resource name plus 8 random hex digits.
	id, err := resource.NewUniqueHex(urn.Name(), 8, 0)
	if err != nil {
		return nil, err
	}

	var outs resource.PropertyMap
	in := parseInputs(news)
	switch {
	case req.GetPreview():
		// Nothing runs during preview; the outputs are not known yet.
		outs = outputsFor(kind, news, unknownString(), unknownString())
	case in.Create == nil:
		outs = outputsFor(kind, news, resource.NewStringProperty(""), resource.NewStringProperty(""))
	default:
		p.warnUnsupported(ctx, urn, news)
		if in, err = inputsFor(kind, news); err != nil {
			return nil, err
		}
		stdout, stderr, err := p.execute(ctx, urn, *in.Create, in, "", "")
		if err != nil {
			return nil, err
		}
		outs = outputsFor(kind, news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	}
	props, err := plugin.MarshalProperties(outs, marshalOpts("create.outputs"))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.CreateResponse{Id: id, Properties: props}, nil
}

// Read returns the recorded state unchanged: a command cannot be re-read.
func (p *commandProvider) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return &pulumirpc.ReadResponse{Id: req.GetId(), Properties: req.GetProperties(), Inputs: req.GetInputs()}, nil
}

func (p *commandProvider) Update(ctx context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	kind, err := kindOf(req.GetUrn())
	if err != nil {
		return nil, err
	}
	urn := resource.URN(req.GetUrn())
	olds, err := plugin.UnmarshalProperties(req.GetOlds(), marshalOpts("update.olds"))
	if err != nil {
		return nil, err
	}
	news, err := plugin.UnmarshalProperties(req.GetNews(), marshalOpts("update.news"))
	if err != nil {
		return nil, err
	}
	prevStdout, prevStderr := stringOf(plain(olds["stdout"])), stringOf(plain(olds["stderr"]))

	var outs resource.PropertyMap
	in := parseInputs(news)
	command := in.Update // upstream: `update`, else `create`, else nothing
	if command == nil {
		command = in.Create
	}
	switch {
	case req.GetPreview():
		outs = outputsFor(kind, news, unknownString(), unknownString())
	case command == nil:
		// Nothing to run: keep the old outputs.
		outs = outputsFor(kind, news, resource.NewStringProperty(prevStdout), resource.NewStringProperty(prevStderr))
	default:
		p.warnUnsupported(ctx, urn, news)
		if in, err = inputsFor(kind, news); err != nil {
			return nil, err
		}
		stdout, stderr, err := p.execute(ctx, urn, *command, in, prevStdout, prevStderr)
		if err != nil {
			return nil, err
		}
		outs = outputsFor(kind, news, resource.NewStringProperty(stdout), resource.NewStringProperty(stderr))
	}
	props, err := plugin.MarshalProperties(outs, marshalOpts("update.outputs"))
	if err != nil {
		return nil, err
	}
	return &pulumirpc.UpdateResponse{Properties: props}, nil
}

// Delete runs `delete` (if any) with the last outputs in its environment.
// Without a delete command there is nothing to undo, so it simply succeeds.
func (p *commandProvider) Delete(ctx context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	kind, err := kindOf(req.GetUrn())
	if err != nil {
		return nil, err
	}
	olds, err := plugin.UnmarshalProperties(req.GetProperties(), marshalOpts("delete.properties"))
	if err != nil {
		return nil, err
	}
	if parseInputs(olds).Delete == nil {
		return &emptypb.Empty{}, nil
	}
	in, err := inputsFor(kind, olds)
	if err != nil {
		return nil, err
	}
	_, _, err = p.execute(ctx, resource.URN(req.GetUrn()), *in.Delete, in,
		stringOf(plain(olds["stdout"])), stringOf(plain(olds["stderr"])))
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

func stringOf(v resource.PropertyValue) string {
	if v.IsString() {
		return v.StringValue()
	}
	return ""
}
