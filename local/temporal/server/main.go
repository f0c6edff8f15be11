// Command temporal-server runs a real Temporal server (go.temporal.io/server, the version
// pinned in go.mod) in one process for tests and the local demo: SQLite in memory, the
// namespaces registered at start, every port on 127.0.0.1, optional TLS or mTLS on the
// frontend, and the dynamic config that serverless workers need (Worker Controller on,
// compute provider aws-lambda, scaling algorithm no-sync, no IAM role required).
//
// It prints "temporal-server: listening on 127.0.0.1:PORT" once the frontend answers and
// stops cleanly on SIGTERM or SIGINT.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.temporal.io/api/workflowservice/v1"
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
)

const host = "127.0.0.1"

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

type options struct {
	port          int
	namespaces    multiFlag
	tlsCert       string
	tlsKey        string
	clientCA      string
	tlsCA         string
	logLevel      string
	maxConnAge    time.Duration
	dynamicConfig multiFlag
}

func main() {
	var o options
	flag.IntVar(&o.port, "port", 7233, "frontend gRPC port on 127.0.0.1")
	flag.Var(&o.namespaces, "namespace", "namespace to register (repeatable; default \"default\")")
	flag.StringVar(&o.tlsCert, "tls-cert", "", "serve the frontend over TLS with this certificate (PEM)")
	flag.StringVar(&o.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	flag.StringVar(&o.clientCA, "client-ca", "", "require client certificates signed by this CA (mTLS)")
	flag.StringVar(&o.tlsCA, "tls-ca", "", "CA of --tls-cert, for the server's own system workers (default: --client-ca)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "debug, info, warn or error")
	flag.DurationVar(&o.maxConnAge, "max-connection-age", 0, "close client connections (GOAWAY) after this age (0: the server default)")
	flag.Var(&o.dynamicConfig, "dynamic-config-value", "KEY=JSON extra dynamic config (repeatable)")
	flag.Parse()
	if len(o.namespaces) == 0 {
		o.namespaces = multiFlag{"default"}
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		fail("--tls-cert and --tls-key go together")
	}
	if o.clientCA != "" && o.tlsCert == "" {
		fail("--client-ca needs --tls-cert and --tls-key")
	}
	if err := run(o); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "temporal-server:", msg)
	os.Exit(1)
}

func freePort() int {
	l, err := net.Listen("tcp", host+":0")
	if err != nil {
		fail("no free port: " + err.Error())
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func run(o options) error {
	sqlConf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		ConnectAttributes: map[string]string{"mode": "memory", "cache": "shared"},
		DatabaseName:      strconv.Itoa(rand.Intn(1 << 30)),
	}
	const clusterName = "active"
	var nsConfigs []*sqliteschema.NamespaceConfig
	for _, ns := range o.namespaces {
		c, err := sqliteschema.NewNamespaceConfig(clusterName, ns, false, nil)
		if err != nil {
			return fmt.Errorf("namespace %s: %w", ns, err)
		}
		nsConfigs = append(nsConfigs, c)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, nsConfigs...); err != nil {
		return fmt.Errorf("creating namespaces: %w", err)
	}

	httpPort := freePort()
	ports := map[string]int{"frontend": o.port, "history": freePort(), "matching": freePort(), "worker": freePort()}
	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = host
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
				ClusterID:              fmt.Sprintf("local-%d", o.port),
			},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	conf.Services = map[string]config.Service{}
	for name, p := range ports {
		svc := config.Service{}
		svc.RPC.GRPCPort = p
		svc.RPC.BindOnIP = host
		if name == "frontend" {
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
		conf.Global.TLS.Frontend.Server.CertFile = o.tlsCert
		conf.Global.TLS.Frontend.Server.KeyFile = o.tlsKey
		// The server's own system workers call the frontend too, over TLS.
		sw := &conf.Global.TLS.SystemWorker
		sw.Client.ServerName = "localhost"
		sw.Client.ForceTLS = true
		if ca := firstOf(o.tlsCA, o.clientCA); ca != "" {
			sw.Client.RootCAFiles = []string{ca}
		}
		if o.clientCA != "" {
			conf.Global.TLS.Frontend.Server.ClientCAFiles = []string{o.clientCA}
			conf.Global.TLS.Frontend.Server.RequireClientAuth = true
			sw.CertFile = o.tlsCert // the server certificate is also good for client auth
			sw.KeyFile = o.tlsKey
		}
	}

	dc := dynamicconfig.StaticClient{
		// Serverless workers (Worker Controller) as the feature documents it.
		dynamicconfig.MakeKey("workercontroller.enabled"):                                        true,
		dynamicconfig.MakeKey("workercontroller.compute_providers.enabled"):                      []any{"aws-lambda"},
		dynamicconfig.MakeKey("workercontroller.scaling_algorithms.enabled"):                     []any{"no-sync"},
		dynamicconfig.MakeKey("workercontroller.compute_providers.aws.require_role_and_external_id"): false,
		// Fast tests: no waiting for caches or rate limits.
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
	}
	if o.maxConnAge > 0 {
		dc[dynamicconfig.KeepAliveMaxConnectionAge.Key()] = o.maxConnAge
		dc[dynamicconfig.KeepAliveMaxConnectionAgeGrace.Key()] = 30 * time.Second
	}
	for _, kv := range o.dynamicConfig {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--dynamic-config-value wants KEY=VALUE, got %q", kv)
		}
		dc[dynamicconfig.MakeKey(k)] = parseValue(v)
	}

	logger := log.NewZapLogger(log.BuildZapLogger(log.Config{Level: o.logLevel, Format: "console", OutputFile: ""}))
	hosts := map[primitives.ServiceName]static.Hosts{}
	for name, p := range ports {
		hosts[primitives.ServiceName(name)] = static.SingleLocalHost(fmt.Sprintf("%s:%d", host, p))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(logger),
		temporal.WithDynamicConfigClient(dc),
	)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if err := waitReady(o); err != nil {
		srv.Stop()
		return err
	}
	fmt.Printf("temporal-server: listening on %s:%d\n", host, o.port)

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Stop()
	return nil
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func parseValue(v string) any {
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	if i, err := strconv.Atoi(v); err == nil {
		return i
	}
	if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	return v
}

// waitReady calls GetSystemInfo on the frontend until it answers.
func waitReady(o options) error {
	creds := insecure.NewCredentials()
	if o.tlsCert != "" {
		tc := &tls.Config{InsecureSkipVerify: true} // only asks "are you up?" of itself
		if o.clientCA != "" {
			cert, err := tls.LoadX509KeyPair(o.tlsCert, o.tlsKey)
			if err != nil {
				return err
			}
			tc.Certificates = []tls.Certificate{cert}
			tc.RootCAs = x509.NewCertPool()
		}
		creds = credentials.NewTLS(tc)
	}
	conn, err := grpc.NewClient(fmt.Sprintf("%s:%d", host, o.port), grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	client := workflowservice.NewWorkflowServiceClient(conn)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.GetSystemInfo(ctx, &workflowservice.GetSystemInfoRequest{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("frontend did not answer: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
