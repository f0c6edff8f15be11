// Command temporal-server runs the real Temporal server (go.temporal.io/server, the version
// pinned in ../go.mod) in one process, set up the way the temporal CLI's dev server sets up
// its embedded server: SQLite in memory with the schema made at start, the namespaces
// registered at start (retention 24 h), static membership, every listener on 127.0.0.1, no UI,
// no metrics listener, no pprof. On top of that: optional TLS or mTLS on the frontend, and the
// dynamic config serverless workers need (Worker Controller on, compute provider aws-lambda,
// scaling algorithm no-sync, no IAM role required), and an optional API key check on the
// frontend (--api-key; see apiKeyClaimMapper).
//
// It prints "temporal-server: listening on 127.0.0.1:PORT" on stdout once the frontend answers
// GetSystemInfo and DescribeNamespace for every namespace, logs to stderr, and stops on
// SIGTERM or SIGINT (exit 0; a second signal, or a stop taking over 20 s, exits 1 at once).
//
// Its environment goes to the AWS SDK inside the Worker Controller, so AWS_ENDPOINT_URL_LAMBDA,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION work as usual; the one change: an unset
// AWS_EC2_METADATA_DISABLED becomes true (no credential look-up at the EC2 metadata address).
package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
	wciclient "go.temporal.io/auto-scaled-workers/wci/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

const (
	host        = "127.0.0.1"
	clusterName = "active"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	port            int
	httpPort        int
	namespaces      multiFlag
	tlsCert         string
	tlsKey          string
	clientCA        string
	tlsCA           string
	logLevel        string
	logFormat       string
	maxConnAge      time.Duration
	dynamicConfig   multiFlag
	exitWithParent  bool
	printDynConfig  bool
	startupDeadline time.Duration
	apiKey          string
}

func main() {
	var o options
	flag.IntVar(&o.port, "port", 7233, "frontend gRPC port on 127.0.0.1")
	flag.IntVar(&o.httpPort, "http-port", 0, "frontend HTTP API port on 127.0.0.1 (0: a free port)")
	flag.Var(&o.namespaces, "namespace", "namespace to register at start (repeatable; default \"default\")")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "serve the frontend over TLS with this certificate (PEM)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	flag.StringVar(&o.clientCA, "client-ca", "", "require client certificates signed by this CA (mTLS); "+
		"the server's own system workers then present --tls-cert as their client certificate")
	flag.StringVar(&o.tlsCA, "tls-ca", "", "CA that signed --tls-cert; the system workers verify the "+
		"frontend with it (without it they skip verification of their own loopback frontend)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error (logs go to stderr)")
	flag.StringVar(&o.logFormat, "log-format", "console", "console or json")
	flag.DurationVar(&o.maxConnAge, "max-connection-age", 0,
		"close client connections (GOAWAY) after this age, grace 30 s (0: the server default, 5 min)")
	flag.Var(&o.dynamicConfig, "dynamic-config-value",
		"KEY=VALUE extra or overriding dynamic config, VALUE as JSON (bare words are strings; repeatable)")
	flag.BoolVar(&o.exitWithParent, "exit-with-parent", false, "get SIGTERM when the parent process dies")
	flag.BoolVar(&o.printDynConfig, "print-dynamic-config", false, "print the dynamic config as JSON and exit")
	flag.DurationVar(&o.startupDeadline, "startup-timeout", 90*time.Second, "give up when not up by then")
	flag.StringVar(&o.apiKey, "api-key", "", "refuse (PermissionDenied) frontend calls whose authorization "+
		"header is not \"Bearer KEY\"; calls without the header (the server's own system workers, "+
		"the driver) pass")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Sprintf("unexpected argument %q", flag.Arg(0)))
	}
	if len(o.namespaces) == 0 {
		o.namespaces = multiFlag{"default"}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		fail("--tls-cert and --tls-key go together")
	}
	if (o.clientCA != "" || o.tlsCA != "") && o.tlsCert == "" {
		fail("--client-ca and --tls-ca need --tls-cert and --tls-key")
	}
	if strings.ContainsAny(o.apiKey, " \t\r\n") {
		fail("--api-key must not contain white space")
	}
	if o.port <= 0 || o.port > 65535 {
		fail("--port wants 1..65535")
	}
	dc, err := dynamicConfig(o)
	if err != nil {
		fail(err.Error())
	}
	if o.printDynConfig {
		printDynamicConfig(dc)
		return
	}
	if o.exitWithParent {
		// PR_SET_PDEATHSIG = 1
		if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, 1, uintptr(syscall.SIGTERM), 0); e != 0 {
			fail("prctl: " + e.Error())
		}
		if os.Getppid() == 1 {
			fail("parent already gone")
		}
	}
	// Without credentials in the environment the AWS SDK's default chain would ask the EC2
	// instance metadata service (a link-local address, off this machine) for some; tests give
	// credentials (or a local endpoint) through the environment, which is passed on untouched.
	if _, set := os.LookupEnv("AWS_EC2_METADATA_DISABLED"); !set {
		os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	}
	if err := run(o, dc); err != nil {
		fail(err.Error())
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "temporal-server:", msg)
	os.Exit(1)
}

// dynamicConfig is the server's dynamic config. Keys come from the exported settings of the
// server and of the Worker Controller module, so a key that does not exist fails to compile.
func dynamicConfig(o options) (dynamicconfig.StaticClient, error) {
	dc := dynamicconfig.StaticClient{
		// Serverless workers: the Worker Controller (go.temporal.io/auto-scaled-workers,
		// wci/client/config.go).
		wciclient.WorkerControllerEnabled.Key():                     true,                // workercontroller.enabled
		wciclient.WorkerControllerEnabledComputeProviders.Key():     []any{"aws-lambda"}, // workercontroller.compute_providers.enabled
		wciclient.WorkerControllerEnabledScalingAlgorithms.Key():    []any{"no-sync"},    // workercontroller.scaling_algorithms.enabled
		wciclient.WorkerControllerAWSRequireRoleAndExternalID.Key(): false,               // workercontroller.compute_providers.aws.require_role_and_external_id

		// Worker Versioning (Worker Deployments). Both are on by default in 1.31; set anyway.
		dynamicconfig.EnableDeploymentVersions.Key():                   true, // system.enableDeploymentVersions
		dynamicconfig.FrontendEnableWorkerVersioningWorkflowAPIs.Key(): true, // frontend.workerVersioningWorkflowAPIs

		// ShutdownWorker ends a stopping worker's outstanding polls with empty answers, so a
		// task is never handed to a poll the worker is about to drop (Lambda workers stop often).
		dynamicconfig.EnableCancelWorkerPollsOnShutdown.Key(): true, // frontend.enableCancelWorkerPollsOnShutdown

		// What the temporal CLI's dev server sets.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096, // history.hostLevelCacheMaxSize
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,  // frontend.namespaceRPS.visibility

		// Tests: one partition per task queue, so every poll and every task meets on one
		// partition (no forwarding between partitions, DescribeTaskQueue sees every poller).
		dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  1, // matching.numTaskqueueReadPartitions
		dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): 1, // matching.numTaskqueueWritePartitions
		// Tests: full internal error messages; no background scanners on a 2-core machine.
		dynamicconfig.FrontendMaskInternalErrorDetails.Key(): false, // frontend.maskInternalErrorDetails
		dynamicconfig.HistoryScannerEnabled.Key():            false, // worker.historyScannerEnabled
		dynamicconfig.TaskQueueScannerEnabled.Key():          false, // worker.taskQueueScannerEnabled
		dynamicconfig.ExecutionsScannerEnabled.Key():         false, // worker.executionsScannerEnabled
		dynamicconfig.BuildIdScavengerEnabled.Key():          false, // worker.buildIdScavengerEnabled
	}
	if o.maxConnAge > 0 {
		dc[dynamicconfig.KeepAliveMaxConnectionAge.Key()] = o.maxConnAge          // frontend.keepAliveMaxConnectionAge
		dc[dynamicconfig.KeepAliveMaxConnectionAgeGrace.Key()] = 30 * time.Second // frontend.keepAliveMaxConnectionAgeGrace
	}
	for _, kv := range o.dynamicConfig {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--dynamic-config-value wants KEY=VALUE, got %q", kv)
		}
		dc[dynamicconfig.MakeKey(k)] = parseValue(v)
	}
	return dc, nil
}

func printDynamicConfig(dc dynamicconfig.StaticClient) {
	out := map[string]any{}
	for k, v := range dc {
		if d, ok := v.(time.Duration); ok {
			v = d.String()
		}
		out[k.String()] = v
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	fmt.Println(string(b))
}

// parseValue reads a dynamic config value as JSON (whole numbers as int, which the server's
// int settings need), or takes it as a plain string when it is not JSON ("5s", "aws-lambda").
func parseValue(v string) any {
	d := json.NewDecoder(bytes.NewReader([]byte(v)))
	d.UseNumber()
	var x any
	if err := d.Decode(&x); err != nil || d.More() {
		return v
	}
	return fromJSON(x)
}

func fromJSON(x any) any {
	switch t := x.(type) {
	case json.Number:
		if i, err := strconv.Atoi(t.String()); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case []any:
		for i := range t {
			t[i] = fromJSON(t[i])
		}
	case map[string]any:
		for k := range t {
			t[k] = fromJSON(t[k])
		}
	}
	return x
}

// freePorts picks n distinct free loopback ports, holding all of them until all are chosen.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", host+":0")
		if err != nil {
			return nil, fmt.Errorf("no free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func serverConfig(o options, ports map[string]int, httpPort int) (*config.Config, error) {
	sqlConf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		DatabaseName:      fmt.Sprintf("tw-%d-%d", os.Getpid(), rand.Intn(1<<30)),
	}
	// The SQLite plugin makes the schema of an in-memory database when it opens it; this
	// writes the namespaces into it (retention 24 h) before the server starts.
	var nsConfigs []*sqliteschema.NamespaceConfig
	for _, ns := range o.namespaces {
		c, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		nsConfigs = append(nsConfigs, c)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, nsConfigs...); err != nil {
		return nil, fmt.Errorf("creating namespaces: %w", err)
	}

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
	conf.Global.PProf.Port = 0 // no pprof listener
	conf.Global.Metrics = nil  // no metrics listener
	conf.Persistence.DefaultStore = "sqlite"
	conf.Persistence.VisibilityStore = "sqlite"
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{"sqlite": {SQL: sqlConf}}
	conf.ClusterMetadata = &cluster.Config{
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             fmt.Sprintf("%s:%d", host, o.port),
				HTTPAddress:            fmt.Sprintf("%s:%d", host, httpPort),
				ClusterID:              newUUID(),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for name, p := range ports {
		svc := config.Service{}
		svc.RPC.GRPCPort = p
		svc.RPC.BindOnIP = host
		if name == string(primitives.FrontendService) {
			svc.RPC.HTTPPort = httpPort
		}
		conf.Services[name] = svc
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = fmt.Sprintf("%s:%d", host, o.port)

	if o.tlsCert != "" {
		// TLS on the frontend only (gRPC and HTTP API); internode traffic stays plaintext.
		fe := &conf.Global.TLS.Frontend.Server
		fe.CertFile = o.tlsCert
		fe.KeyFile = o.tlsKey
		if o.clientCA != "" {
			fe.ClientCAFiles = []string{o.clientCA}
			fe.RequireClientAuth = true
		}
		// The server's own system workers (deployments, Worker Controller, ...) call the
		// frontend at PublicClient.HostPort, so over TLS too.
		sw := &conf.Global.TLS.SystemWorker
		sw.Client.ForceTLS = true
		if o.tlsCA != "" {
			sw.Client.RootCAFiles = []string{o.tlsCA} // verifies IP 127.0.0.1 in --tls-cert
		} else {
			sw.Client.DisableHostVerification = true // its own frontend, on loopback
		}
		if o.clientCA != "" {
			sw.CertFile = o.tlsCert
			sw.KeyFile = o.tlsKey
		}
	}
	return conf, nil
}

func run(o options, dc dynamicconfig.StaticClient) error {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)

	// A clear message for a port in use, rather than the server's fatal log with a stack.
	for _, p := range []int{o.port, o.httpPort} {
		if p == 0 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, p))
		if err != nil {
			return fmt.Errorf("port %d: %w", p, err)
		}
		l.Close()
	}
	free, err := freePorts(4)
	if err != nil {
		return err
	}
	httpPort := o.httpPort
	if httpPort == 0 {
		httpPort = free[3]
	}
	ports := map[string]int{
		string(primitives.FrontendService): o.port,
		string(primitives.HistoryService):  free[0],
		string(primitives.MatchingService): free[1],
		string(primitives.WorkerService):   free[2],
	}
	conf, err := serverConfig(o, ports, httpPort)
	if err != nil {
		return err
	}
	var names []string
	for name, p := range ports {
		names = append(names, fmt.Sprintf("%s %s:%d", name, host, p))
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "temporal-server: ports: %s, http %s:%d; namespaces %s\n",
		strings.Join(names, ", "), host, httpPort, o.namespaces.String())

	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.logLevel, Format: o.logFormat}))
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, p := range ports {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(fmt.Sprintf("%s:%d", host, p))
	}
	opts := []temporal.ServerOption{
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dc),
	}
	if o.apiKey != "" {
		opts = append(opts,
			temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper {
				return &apiKeyClaimMapper{want: []byte("Bearer " + o.apiKey)}
			}),
			temporal.WithAuthorizer(apiKeyAuthorizer{}))
	}
	srv, err := temporal.NewServer(opts...)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.startupDeadline)
	ready := make(chan error, 1)
	go func() { ready <- waitReady(ctx, o) }()
	select {
	case err = <-ready:
	case s := <-sig:
		err = fmt.Errorf("%v before the frontend answered", s)
	}
	cancel()
	if err != nil {
		stop(srv, sig)
		return err
	}
	fmt.Printf("temporal-server: listening on %s:%d\n", host, o.port)
	os.Stdout.Sync()

	<-sig
	stop(srv, sig)
	return nil
}

// apiKeyClaimMapper is --api-key's check, on the server's own extension point: the frontend's
// authorization interceptor hands it the authorization header of every call that carries one
// (or a client certificate), and a call whose claims cannot be mapped is refused with
// PermissionDenied "Request unauthorized." (what a server with the JWT claim mapper answers
// for a bad token). Calls with no authorization header never reach it: the interceptor
// authorizes them with nil claims (apiKeyAuthorizer lets them through). That keeps the
// server's own system workers (deployments, Worker Controller, ...), which call the frontend
// without one, and the tests' driver working. The error never carries the header: the
// interceptor logs it.
type apiKeyClaimMapper struct{ want []byte }

var errWrongAPIKey = errors.New("authorization header does not match --api-key")

func (m *apiKeyClaimMapper) GetClaims(ai *authorization.AuthInfo) (*authorization.Claims, error) {
	if ai.AuthToken == "" { // a client certificate and no header (mTLS)
		return &authorization.Claims{Subject: "client-certificate", System: authorization.RoleAdmin}, nil
	}
	if subtle.ConstantTimeCompare([]byte(ai.AuthToken), m.want) != 1 {
		return nil, errWrongAPIKey
	}
	return &authorization.Claims{Subject: "api-key", System: authorization.RoleAdmin, AuthType: "api-key"}, nil
}

// apiKeyAuthorizer allows every call that got past apiKeyClaimMapper: nil claims (no
// credentials at all) or claims it mapped. The interceptor checks claims only when an
// authorizer is set, so --api-key needs both.
type apiKeyAuthorizer struct{}

func (apiKeyAuthorizer) Authorize(context.Context, *authorization.Claims,
	*authorization.CallTarget) (authorization.Result, error) {
	return authorization.Result{Decision: authorization.DecisionAllow}, nil
}

// stop stops the server; a second signal or 20 s without an end exits at once.
func stop(srv temporal.Server, sig chan os.Signal) {
	done := make(chan struct{})
	go func() {
		srv.Stop()
		close(done)
	}()
	select {
	case <-done:
	case <-sig:
		fmt.Fprintln(os.Stderr, "temporal-server: second signal, exiting")
		os.Exit(1)
	case <-time.After(20 * time.Second):
		fmt.Fprintln(os.Stderr, "temporal-server: stop took over 20 s, exiting")
		os.Exit(1)
	}
}

// waitReady calls GetSystemInfo on the frontend, then DescribeNamespace for each namespace,
// until they all answer.
func waitReady(ctx context.Context, o options) error {
	creds := insecure.NewCredentials()
	if o.tlsCert != "" {
		tc := &tls.Config{InsecureSkipVerify: true} // only asks "are you up?" of itself
		if o.clientCA != "" {
			cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
			if err != nil {
				return fmt.Errorf("--tls-cert/--tls-key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(fmt.Sprintf("%s:%d", host, o.port), grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := workflowservice.NewWorkflowServiceClient(conn)
	call := func(f func(context.Context) error) error {
		for {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			err := f(cctx)
			cancel()
			if err == nil {
				return nil
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("frontend did not answer: %w", err)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := call(func(c context.Context) error {
		_, err := client.GetSystemInfo(c, &workflowservice.GetSystemInfoRequest{})
		return err
	}); err != nil {
		return err
	}
	for _, ns := range o.namespaces {
		if err := call(func(c context.Context) error {
			c = metadata.AppendToOutgoingContext(c, "temporal-namespace", ns)
			_, err := client.DescribeNamespace(c, &workflowservice.DescribeNamespaceRequest{Namespace: ns})
			return err
		}); err != nil {
			return errors.Join(fmt.Errorf("namespace %s", ns), err)
		}
	}
	return nil
}
