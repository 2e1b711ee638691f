package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/structpb"
)

// asPolicyPack makes the test binary serve the policy pack, as policypack/main.go does (both
// call guard.Serve), so that the test need not build and link another binary; .ci/run builds
// policypack/ itself.
const asPolicyPack = "COLDCHAIN_TEST_AS_POLICY_PACK"

// TestPolicyPackAnswersTheEngine starts the policy pack's server and talks to it as the engine
// does, over gRPC and in the engine's order: Handshake, ConfigureStack, GetAnalyzerInfo,
// Configure, AnalyzeStack. The resources go over the wire as the engine marshals them,
// unknowns and secrets included, so this runs the SDK's own server and its conversions, not
// only the rules.
func TestPolicyPackAnswersTheEngine(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	server := exec.CommandContext(ctx, os.Args[0])
	server.Env = append(os.Environ(), asPolicyPack+"=1")
	stdout, err := server.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, server.Start())
	t.Cleanup(func() { cancel(); _ = server.Wait() })
	port, err := bufio.NewReader(stdout).ReadString('\n') // the analyzer protocol: the port, first
	require.NoError(t, err)
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer conn.Close()
	analyzer := pulumirpc.NewAnalyzerClient(conn)

	root, err := filepath.Abs("policypack")
	require.NoError(t, err)
	_, err = analyzer.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &root, ProgramDirectory: &root})
	require.NoError(t, err)
	_, err = analyzer.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "production", Project: project, DryRun: true})
	require.NoError(t, err)
	info, err := analyzer.GetAnalyzerInfo(ctx, nil)
	require.NoError(t, err)
	require.Equal(t, "coldchain-guard", info.GetName())
	levels := map[string]pulumirpc.EnforcementLevel{}
	for _, policy := range info.GetPolicies() {
		levels[policy.GetName()] = policy.GetEnforcementLevel()
	}
	require.Equal(t, pulumirpc.EnforcementLevel_MANDATORY, levels["SEC-01"])
	require.Equal(t, pulumirpc.EnforcementLevel_DISABLED, levels["DATA-03"])

	analyze := func(t *testing.T, resources []policyx.AnalyzerResource) map[string]string {
		t.Helper()
		request := &pulumirpc.AnalyzeStackRequest{}
		for _, a := range resources {
			request.Resources = append(request.Resources, onTheWire(t, a))
		}
		response, err := analyzer.AnalyzeStack(ctx, request)
		require.NoError(t, err)
		found := map[string]string{}
		for _, d := range response.GetDiagnostics() {
			found[d.GetPolicyName()] += d.GetMessage() + "\n"
			require.Equal(t, pulumirpc.EnforcementLevel_MANDATORY, d.GetEnforcementLevel())
		}
		return found
	}

	production := planOfVariation(t, variations[0])
	require.Empty(t, analyze(t, analyzerView(t, production, true)), "the preview of a new production stack")
	require.Empty(t, analyze(t, analyzerView(t, production, false)), "production after an up")
	broken := clonePlan(t, production)
	broken.One(t, dbType, "postgres").Inputs["storageEncrypted"] = false
	require.Contains(t, analyze(t, analyzerView(t, broken, true)), "SEC-01", "an unencrypted database, in a preview")

	// Staging's config file, as the engine passes it: DATA-03 on, DATA-01 and DATA-02 off.
	config := &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{}}
	for name, level := range packLevels(t, "staging") {
		config.PolicyConfig[name] = &pulumirpc.PolicyConfig{EnforcementLevel: pulumirpc.EnforcementLevel(level)}
	}
	_, err = analyzer.Configure(ctx, config)
	require.NoError(t, err)
	require.Empty(t, analyze(t, analyzerView(t, planOfVariation(t, variations[1]), false)), "staging after an up")
	require.Contains(t, analyze(t, analyzerView(t, production, false)), "DATA-03", "production's protection, under staging's config")
}

// onTheWire is a resource as the engine sends it to an analyzer.
func onTheWire(t *testing.T, a policyx.AnalyzerResource) *pulumirpc.AnalyzerResource {
	t.Helper()
	marshal := func(props resource.PropertyMap) *structpb.Struct {
		s, err := plugin.MarshalProperties(props, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true})
		require.NoError(t, err)
		return s
	}
	wire := &pulumirpc.AnalyzerResource{
		Type: a.Type, Urn: a.URN, Name: a.Name, Parent: a.Parent, Dependencies: a.Dependencies,
		Properties: marshal(resource.ToResourcePropertyMap(a.Properties)),
		Options: &pulumirpc.AnalyzerResourceOptions{Protect: a.Options.Protect, IgnoreChanges: a.Options.IgnoreChanges,
			DeleteBeforeReplace: a.Options.DeleteBeforeReplace, DeleteBeforeReplaceDefined: true},
		PropertyDependencies: map[string]*pulumirpc.AnalyzerPropertyDependencies{},
	}
	for key, urns := range a.PropertyDependencies {
		wire.PropertyDependencies[key] = &pulumirpc.AnalyzerPropertyDependencies{Urns: urns}
	}
	if a.Provider.URN != "" {
		wire.Provider = &pulumirpc.AnalyzerProviderResource{Type: a.Provider.Type, Urn: a.Provider.URN, Name: a.Provider.Name,
			Properties: marshal(resource.ToResourcePropertyMap(a.Provider.Properties))}
	}
	return wire
}
