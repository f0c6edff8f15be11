// Command tw-driver is the tests' independent Temporal client, on the official Go SDK
// (go.temporal.io/sdk, with raw WorkflowService calls from go.temporal.io/api where the SDK has
// no helper): it starts, signals, queries, updates, cancels, awaits, resets and terminates
// workflows, reads histories and task queues, sets up Worker Deployments whose versions carry a
// compute config for serverless workers, and runs the checks of Temporal's feature-suite
// scenarios against the C worker (feature*.go).
//
// Files: main.go (flags, commands, the connection), workflows.go and messages.go (commands on
// workflows), deploy.go (server and deployments), convert.go (JSON out), feature*.go (scenarios).
//
// Usage: tw-driver [global flags] COMMAND [command flags]
// Every command prints one JSON object on stdout when it succeeds; otherwise a message on
// stderr and exit status 1. Workflow arguments are JSON, sent as json/plain payloads (the SDK
// default); results decode the same way.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/client"
	"google.golang.org/grpc/status"
)

const identity = "tw-driver"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type globals struct {
	address    string
	namespace  string
	tlsCA      string
	tlsCert    string
	tlsKey     string
	serverName string
	timeout    time.Duration
}

var g globals

type command struct {
	name  string
	help  string
	flags func(fs *flag.FlagSet) func(ctx context.Context, c client.Client) (any, error)
}

var commands = []command{
	{"system-info", "server version and capabilities", cmdSystemInfo},
	{"start", "start a workflow", cmdStart},
	{"start-many", "start workflows PREFIX-0 .. PREFIX-(N-1) (load and chaos runs)", cmdStartMany},
	{"await-many", "wait until workflows PREFIX-0 .. PREFIX-(N-1) close; each one's end", cmdAwaitMany},
	{"open-workflows", "count the workflows still running (visibility), with some of their ids", cmdOpenWorkflows},
	{"signal", "signal a workflow", cmdSignal},
	{"signal-with-start", "signal a workflow, starting it first if it is not running", cmdSignalWithStart},
	{"query", "query a workflow", cmdQuery},
	{"update", "send an update; waits until it is accepted or completed", cmdUpdate},
	{"update-result", "wait for the outcome of an update sent before", cmdUpdateResult},
	{"cancel", "request cancellation of a workflow", cmdCancel},
	{"await", "wait until a workflow closes (following continue-as-new and retries)", cmdAwait},
	{"describe", "status and history length of a workflow", cmdDescribe},
	{"activities", "the activities a workflow waits on: attempt, last heartbeat and failure", cmdActivities},
	{"complete-activity", "complete, fail or cancel a pending activity by its task token (heartbeats too)", cmdCompleteActivity},
	{"history", "a workflow's full history as JSON (protojson), on stdout or to --out", cmdHistory},
	{"terminate", "terminate a workflow", cmdTerminate},
	{"reset", "reset a workflow to a completed workflow task (a new run replays up to it)", cmdReset},
	{"describe-task-queue", "pollers and stats of a task queue", cmdDescribeTaskQueue},
	{"create-deployment", "create a Worker Deployment", cmdCreateDeployment},
	{"describe-deployment", "describe a Worker Deployment", cmdDescribeDeployment},
	{"create-version", "create a Worker Deployment Version, with an AWS Lambda compute config", cmdCreateVersion},
	{"set-current", "make a Worker Deployment Version current", cmdSetCurrent},
	{"describe-version", "describe a Worker Deployment Version", cmdDescribeVersion},
	{"feature", "run a feature-suite scenario's check against a worker (tests/features/)", cmdFeature},
	{"payload-encodings", "count a workflow's history payloads by encoding (codec checks)", cmdPayloadEncodings},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: tw-driver [global flags] COMMAND [command flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %-20s %s\n", c.name, c.help)
	}
	fmt.Fprintln(os.Stderr, "\nglobal flags:")
	flag.PrintDefaults()
	fmt.Fprintln(os.Stderr, "\n`tw-driver COMMAND -h` lists a command's flags.")
}

func die(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "tw-driver: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	flag.StringVar(&g.address, "address", "127.0.0.1:7233", "Temporal frontend host:port")
	flag.StringVar(&g.namespace, "namespace", "default", "namespace")
	flag.StringVar(&g.tlsCA, "tls-ca", "", "CA certificate (PEM) to verify the server with; turns TLS on")
	flag.StringVar(&g.tlsCert, "tls-cert", "", "client certificate (PEM) for mTLS; turns TLS on")
	flag.StringVar(&g.tlsKey, "tls-key", "", "key of --tls-cert (PEM)")
	flag.StringVar(&g.serverName, "tls-server-name", "", "name to verify the server certificate against; turns TLS on")
	flag.DurationVar(&g.timeout, "timeout", 30*time.Second, "deadline of the whole command")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() < 1 {
		usage()
		os.Exit(1)
	}
	if (g.tlsCert == "") != (g.tlsKey == "") {
		die("--tls-cert and --tls-key go together")
	}
	name := flag.Arg(0)
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		usage()
		die("unknown command %q", name)
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	runCmd := cmd.flags(fs)
	if err := fs.Parse(flag.Args()[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		die("%s: %v", name, err)
	}
	if fs.NArg() > 0 {
		die("%s: unexpected argument %q", name, fs.Arg(0))
	}

	ctx, cancel := context.WithTimeout(context.Background(), g.timeout)
	defer cancel()
	c, err := dial(ctx)
	if err != nil {
		die("connect %s: %s", g.address, errText(err))
	}
	defer c.Close()
	out, err := runCmd(ctx, c)
	if err != nil {
		die("%s: %s", name, errText(err))
	}
	b, err := json.Marshal(out)
	if err != nil {
		die("%s: encoding the answer: %v", name, err)
	}
	fmt.Println(string(b))
}

// errText is the error's text, with the gRPC status code when there is one.
func errText(err error) string {
	if s, ok := status.FromError(err); ok {
		return fmt.Sprintf("%s (grpc status %s)", s.Message(), s.Code())
	}
	var se interface{ Status() *status.Status } // go.temporal.io/api/serviceerror
	if errors.As(err, &se) && se.Status() != nil {
		return fmt.Sprintf("%s (grpc status %s)", err.Error(), se.Status().Code())
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within --timeout %v", g.timeout)
	}
	return err.Error()
}

func dial(ctx context.Context) (client.Client, error) {
	opts := client.Options{
		HostPort:  g.address,
		Namespace: g.namespace,
		Identity:  fmt.Sprintf("%s-%d", identity, os.Getpid()),
		Logger:    stderrLogger{},
	}
	if err := withEnvCodec(&opts); err != nil { // TW_DRIVER_CODEC_KEY: feature_dc.go
		return nil, err
	}
	if g.tlsCA != "" || g.tlsCert != "" || g.serverName != "" {
		tc := &tls.Config{ServerName: g.serverName, MinVersion: tls.VersionTLS12}
		if g.tlsCA != "" {
			pem, err := os.ReadFile(g.tlsCA)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("%s: no PEM certificate", g.tlsCA)
			}
		}
		if g.tlsCert != "" {
			cert, err := tls.LoadX509KeyPair(g.tlsCert, g.tlsKey)
			if err != nil {
				return nil, err
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		opts.ConnectionOptions.TLS = tc
	}
	return client.DialContext(ctx, opts)
}
