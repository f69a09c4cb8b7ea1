package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"golang.org/x/crypto/ssh"
)

const remoteURN = "urn:pulumi:dev::proj::command:remote:Command::r"

type testHost struct {
	Name       string `json:"name"`
	Namespace  string `json:"namespace"`
	Address    string `json:"address"`
	Port       int    `json:"port"`
	User       string `json:"user"`
	HostKey    string `json:"hostKey"`
	DataFolder string `json:"dataFolder"`
}

// startTestHost brings up one real sshd host with scripts/test-hosts.sh (a
// network namespace of its own) and takes it down again when the test ends,
// whether it passed or not. It returns the host and the client's private key.
func startTestHost(t *testing.T) (testHost, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: test hosts are network namespaces with their own sshd")
	}
	for _, tool := range []string{"ip", "unshare", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s for the test hosts", tool)
		}
	}
	if _, err := os.Stat("/usr/sbin/sshd"); err != nil {
		t.Skip("needs /usr/sbin/sshd for the test hosts")
	}
	script, err := filepath.Abs("../../scripts/test-hosts.sh")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(script); err != nil {
		t.Skipf("no test-hosts script: %v", err)
	}
	stateDir := filepath.Join(t.TempDir(), "hosts")
	var namespaces []string
	// Registered before `up`, so it also runs after a failed one (and before
	// t.TempDir's own cleanup, which was registered first).
	t.Cleanup(func() {
		if out, err := exec.Command("bash", script, "down", stateDir).CombinedOutput(); err != nil {
			t.Errorf("test-hosts down: %v\n%s", err, out)
		}
		out, _ := exec.Command("ip", "netns", "list").Output()
		for _, ns := range namespaces {
			if strings.Contains(string(out), ns) {
				t.Errorf("namespace %s still exists after down", ns)
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", script, "up", stateDir, "1").CombinedOutput(); err != nil {
		t.Fatalf("test-hosts up: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(stateDir, "hosts.json"))
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		ClientKey string     `json:"clientKey"`
		Hosts     []testHost `json:"hosts"`
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Hosts) != 1 {
		t.Fatalf("want 1 host, got %d", len(info.Hosts))
	}
	namespaces = append(namespaces, info.Hosts[0].Namespace)
	key, err := os.ReadFile(info.ClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return info.Hosts[0], string(key)
}

// remoteProps are the inputs of a remote Command on host h.
func remoteProps(h testHost, privateKey string, hostKey *string, cmds map[string]string) resource.PropertyMap {
	conn := resource.PropertyMap{
		"host":       str(h.Address),
		"privateKey": resource.MakeSecret(str(privateKey)),
		// port, user, dialErrorLimit, perDialTimeout: Check's defaults
	}
	if hostKey != nil {
		conn["hostKey"] = str(*hostKey)
	}
	m := resource.PropertyMap{"connection": resource.NewObjectProperty(conn)}
	for k, v := range cmds {
		m[resource.PropertyKey(k)] = str(v)
	}
	return m
}

// checked runs news through the provider's Check, as the engine does.
func checked(t *testing.T, p *commandProvider, news resource.PropertyMap) *pulumirpc.CheckResponse {
	t.Helper()
	n, err := plugin.MarshalProperties(news, marshalOpts("t"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := p.Check(context.Background(), &pulumirpc.CheckRequest{Urn: remoteURN, News: n})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func outString(t *testing.T, m resource.PropertyMap, k resource.PropertyKey) string {
	t.Helper()
	v := plain(m[k])
	if !v.IsString() {
		t.Fatalf("%s is not a string: %v", k, m[k])
	}
	return v.StringValue()
}

func TestRemoteCommand(t *testing.T) {
	h, privateKey := startTestHost(t)
	p := newProvider(nil)
	ctx := context.Background()
	hostKey := h.HostKey
	marker := filepath.Join(h.DataFolder, "remote-test-"+randomHex(t))

	run := func(t *testing.T, cmds map[string]string, edit func(resource.PropertyMap)) (*pulumirpc.CreateResponse, error) {
		t.Helper()
		news := remoteProps(h, privateKey, &hostKey, cmds)
		if edit != nil {
			edit(news)
		}
		resp := checked(t, p, news)
		if len(resp.Failures) > 0 {
			t.Fatalf("check failures: %v", resp.Failures)
		}
		return p.Create(ctx, &pulumirpc.CreateRequest{Urn: remoteURN, Properties: resp.Inputs})
	}

	t.Run("lifecycle", func(t *testing.T) {
		greeting := `hello 'quoted' "world" $HOME`
		created, err := run(t, map[string]string{
			"create": `echo "$GREETING"; cat; printf created > ` + marker,
			"update": `echo "updated:$PULUMI_COMMAND_STDOUT"; cat ` + marker,
			"delete": `rm ` + marker + ` && echo deleted >&2`,
		}, func(m resource.PropertyMap) {
			m["environment"] = resource.NewObjectProperty(resource.PropertyMap{"GREETING": str(greeting)})
			m["stdin"] = str("from stdin\n")
		})
		if err != nil {
			t.Fatal(err)
		}
		state, err := plugin.UnmarshalProperties(created.Properties, marshalOpts("t"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := outString(t, state, "stdout"), greeting+"\nfrom stdin"; got != want {
			t.Fatalf("create stdout %q, want %q", got, want)
		}
		// Check's defaults and secretness are in the state; the connection
		// alone does not make stdout secret.
		conn := state["connection"]
		if !conn.IsSecret() {
			t.Errorf("connection should be secret: %v", conn)
		}
		if port := plain(conn).ObjectValue()["port"]; !port.IsNumber() || port.NumberValue() != 22 {
			t.Errorf("port default: %v", port)
		}
		if state["stdout"].IsSecret() {
			t.Errorf("stdout should not be secret")
		}
		// The file is on the test host (its own tmpfs), not here.
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%s exists locally: the command did not run on the remote host", marker)
		}
		// A second command reads it back there.
		readBack, err := run(t, map[string]string{"create": "cat " + marker}, nil)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := plugin.UnmarshalProperties(readBack.Properties, marshalOpts("t"))
		if got := outString(t, rb, "stdout"); got != "created" {
			t.Fatalf("read back %q", got)
		}

		// Update runs `update`, with the previous stdout in its environment.
		updated, err := p.Update(ctx, &pulumirpc.UpdateRequest{Urn: remoteURN, Olds: created.Properties, News: created.Properties})
		if err != nil {
			t.Fatal(err)
		}
		us, _ := plugin.UnmarshalProperties(updated.Properties, marshalOpts("t"))
		if got, want := outString(t, us, "stdout"), "updated:"+greeting+"\nfrom stdin\ncreated"; got != want {
			t.Fatalf("update stdout %q, want %q", got, want)
		}

		// Delete runs `delete`: the file is gone afterwards.
		if _, err := p.Delete(ctx, &pulumirpc.DeleteRequest{Urn: remoteURN, Properties: updated.Properties}); err != nil {
			t.Fatal(err)
		}
		if _, err := run(t, map[string]string{"create": "test ! -e " + marker}, nil); err != nil {
			t.Fatalf("delete did not remove the file: %v", err)
		}
	})

	t.Run("diff", func(t *testing.T) {
		resp := checked(t, p, remoteProps(h, privateKey, &hostKey, map[string]string{"create": "true"}))
		olds, _ := plugin.UnmarshalProperties(resp.Inputs, marshalOpts("t"))
		news := olds.Copy()
		news["triggers"] = strs("x")
		news["create"] = str("false")
		d := diffInputs(remoteInputKeys, olds, news)
		if !equalStrings(d.Changed, []string{"create", "triggers"}) || !equalStrings(d.Replaces, []string{"triggers"}) {
			t.Fatalf("diff %+v", d)
		}
		news = olds.Copy()
		c := plain(news["connection"]).ObjectValue().Copy()
		c["host"] = str("other")
		news["connection"] = resource.MakeSecret(resource.NewObjectProperty(c))
		if d := diffInputs(remoteInputKeys, olds, news); !equalStrings(d.Changed, []string{"connection"}) || len(d.Replaces) > 0 {
			t.Fatalf("connection change should update in place: %+v", d)
		}
	})

	t.Run("failure has exit status and stderr", func(t *testing.T) {
		_, err := run(t, map[string]string{"create": "echo first >&2; echo boom-on-remote >&2; exit 7"}, nil)
		if err == nil {
			t.Fatal("failing command succeeded")
		}
		t.Logf("failure: %v", err)
		for _, want := range []string{"exit status 7", "boom-on-remote", h.Address} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		var exitErr *ssh.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitStatus() != 7 {
			t.Errorf("no *ssh.ExitError with status 7 in %v", err)
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error shows the private key: %v", err)
		}
	})

	t.Run("wrong host key is refused", func(t *testing.T) {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		wrong, err := ssh.NewPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		real, _, _, _, err := ssh.ParseAuthorizedKey([]byte(h.HostKey))
		if err != nil {
			t.Fatal(err)
		}
		_, err = run(t, map[string]string{"create": "touch " + marker + ".wrong-key"}, func(m resource.PropertyMap) {
			m["connection"].ObjectValue()["hostKey"] = str(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(wrong))))
		})
		if err == nil {
			t.Fatal("connected despite a wrong pinned host key")
		}
		t.Logf("refused: %v", err)
		for _, want := range []string{h.Address, ssh.FingerprintSHA256(wrong), ssh.FingerprintSHA256(real), "mismatch"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		if strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error shows the private key: %v", err)
		}
	})

	t.Run("missing host key is refused", func(t *testing.T) {
		news := remoteProps(h, privateKey, nil, map[string]string{"create": "touch " + marker + ".no-key"})
		resp := checked(t, p, news)
		if len(resp.Failures) == 0 || !strings.Contains(resp.Failures[0].Reason, "connection.hostKey is required") {
			t.Errorf("check failures %v", resp.Failures)
		}
		_, err := p.Create(ctx, &pulumirpc.CreateRequest{Urn: remoteURN, Properties: resp.Inputs})
		if err == nil || !strings.Contains(err.Error(), "connection.hostKey is required: stagewise pins host keys") {
			t.Fatalf("want the hostKey-required error, got %v", err)
		}
		// Nothing ran: neither marker file exists on the host.
		if _, err := run(t, map[string]string{"create": "test ! -e " + marker + ".no-key && test ! -e " + marker + ".wrong-key"}, nil); err != nil {
			t.Fatalf("a refused command ran anyway: %v", err)
		}
	})
}

func TestRemoteScriptQuotes(t *testing.T) {
	script, err := remoteScript([]string{"A=it's", "B=$x `y` \"z\"\nline2"}, "echo hi")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("/bin/sh", "-c", script+`; printf '%s|%s' "$A" "$B"`).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(out), "hi\nit's|$x `y` \"z\"\nline2"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if _, err := remoteScript([]string{"BAD-NAME=1"}, "true"); err == nil {
		t.Fatal("invalid name accepted")
	}
}

func TestRemotePrivateKeyNotInErrors(t *testing.T) {
	secret := "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbC1kby1ub3Qtc2hvdw==\n-----END OPENSSH PRIVATE KEY-----\n"
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	hk, _ := ssh.NewPublicKey(pub)
	conn := connectionInputs{Host: "127.0.0.1", Port: 1, User: "root", PrivateKey: secret, HostKey: hk,
		DialErrorLimit: 1, PerDialTimeout: time.Second}
	_, _, err := runRemote(context.Background(), conn, runOptions{Command: "true"})
	if err == nil {
		t.Fatal("bad key accepted")
	}
	if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "BEGIN") {
		t.Fatalf("error shows the key: %v", err)
	}
	if !strings.Contains(err.Error(), "connection.privateKey") {
		t.Fatalf("error does not say what is wrong: %v", err)
	}
	if s := conn.String(); strings.Contains(s, "PRIVATE") {
		t.Fatalf("String shows the key: %s", s)
	}
}

func randomHex(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
