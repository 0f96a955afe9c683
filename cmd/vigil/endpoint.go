package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/client"
	"github.com/vigilhq/vigil/internal/vigil"
)

// endpointMutable are the endpoint fields PATCH accepts.
var endpointMutable = []string{"description", "tags", "auth_mode", "public_network_access", "traffic", "mirror_traffic"}

func newEndpointCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "endpoint",
		Short: "Manage online endpoints (az ml online-endpoint)",
		Long: `Manage online endpoints on a Vigil server, as "az ml online-endpoint" does on
Azure Machine Learning. Endpoint YAML files written for Azure load unchanged:
Azure-only settings are ignored with a warning.

The server is --url (VIGIL_URL, default ` + defaultServerURL + `); the admin token is
--token, else VIGIL_TOKEN, else the file admin-token in the data directory
(--data, VIGIL_DATA, default ` + defaultDataDir + `), which "vigil serve" writes on
first start.`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(
		newEndpointCreateCmd(cf),
		newEndpointUpdateCmd(cf),
		newEndpointShowCmd(cf),
		newEndpointListCmd(cf),
		newEndpointDeleteCmd(cf),
		newEndpointInvokeCmd(cf),
		newEndpointCredentialsCmd(cf),
		newEndpointRegenerateCmd(cf),
	)
	for _, c := range cmd.Commands() {
		c.DisableFlagsInUseLine = true
	}
	return cmd
}

// endpointTable writes endpoints as a table.
func endpointTable(eps []client.Endpoint) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		row(tw, "NAME", "AUTH_MODE", "PUBLIC_ACCESS", "TRAFFIC", "SCORING_URI")
		for _, ep := range eps {
			traffic := formatTraffic(ep.Traffic)
			if len(ep.MirrorTraffic) > 0 {
				traffic = strings.TrimSpace(traffic + " mirror:" + formatTraffic(ep.MirrorTraffic))
			}
			row(tw, ep.Name, ep.AuthMode, ep.PublicNetworkAccess, traffic, ep.ScoringURI)
		}
	}
}

func printEndpoint(cmd *cobra.Command, cf *clientFlags, ep *client.Endpoint) error {
	return render(cmd.OutOrStdout(), cf.output, ep, endpointTable([]client.Endpoint{*ep}))
}

func newEndpointCreateCmd(cf *clientFlags) *cobra.Command {
	var file, name, authMode string
	var sets []string
	cmd := &cobra.Command{
		Use:   "create [-f endpoint.yml] [-n NAME] [--auth-mode key|aml_token|aad_token] [--set key=value]...",
		Short: "Create an endpoint",
		Long: `Create an endpoint from an Azure ML endpoint YAML file (-f), from flags, or both.
--name and --auth-mode override the file; --set key=value overrides any
setting (the value is read as YAML). Traffic cannot be set at creation:
create deployments first, then run "vigil endpoint update --traffic".
Fails if the endpoint exists.`,
		Example: `  vigil endpoint create -n my-endpoint
  vigil endpoint create -f endpoint.yml --set auth_mode=aml_token`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := loadFile(cmd, file)
			if err != nil {
				return err
			}
			spec, err := doc.resolve(cmd, endpointFields, []flagValue{{"name", name, "--name"}, {"auth_mode", authMode, "--auth-mode"}}, sets)
			if err != nil {
				return err
			}
			ep, err := endpointFromSpec(spec)
			if err != nil {
				return err
			}
			if ep.Name == "" {
				return errors.New("the endpoint needs a name: give --name or name: in the file")
			}
			if sumTraffic(ep.Traffic) > 0 || sumTraffic(ep.MirrorTraffic) > 0 {
				return &hintError{
					msg:  "traffic and mirror_traffic cannot be set when an endpoint is created: it has no deployments yet",
					hint: fmt.Sprintf(`remove traffic from the file; create the deployments, then run vigil endpoint update -n %s --traffic "%s"`, ep.Name, formatTraffic(ep.Traffic)),
				}
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out, err := c.CreateEndpoint(cmd.Context(), ep)
			if err != nil {
				err = cf.explain(err, "")
				if h, ok := err.(*hintError); ok && vigil.ErrorCode(err) == vigil.EConflict {
					h.hint = fmt.Sprintf("change it with vigil endpoint update -n %s, or pick another name", ep.Name)
				}
				return err
			}
			return printEndpoint(cmd, cf, out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `endpoint YAML file (Azure ML format); "-" reads standard input`)
	f.StringVarP(&name, "name", "n", "", "endpoint name (overrides name: in the file)")
	f.StringVar(&authMode, "auth-mode", "", "key (default), aml_token or aad_token")
	f.StringArrayVar(&sets, "set", nil, "override a setting: key=value or a.b=value (repeatable)")
	return cmd
}

// endpointFromSpec converts loaded settings to an endpoint.
func endpointFromSpec(spec map[string]any) (*client.Endpoint, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var ep client.Endpoint
	if err := json.Unmarshal(b, &ep); err != nil {
		return nil, err
	}
	return &ep, nil
}

func sumTraffic(m map[string]int) int {
	s := 0
	for _, p := range m {
		s += p
	}
	return s
}

func newEndpointUpdateCmd(cf *clientFlags) *cobra.Command {
	var file, name, traffic, mirror string
	var sets []string
	cmd := &cobra.Command{
		Use:   `update -n NAME [-f endpoint.yml] [--traffic "blue=90 green=10"] [--mirror-traffic "green=10"] [--set key=value]...`,
		Short: "Update an endpoint: traffic, mirroring, auth mode and other settings",
		Long: `Update an endpoint. The settings in the file (-f) replace the stored ones; a
setting the file leaves out keeps its value. --set key=value overrides one
setting (tags.team=ops changes one tag). --traffic "blue=90 green=10" sets the
live traffic split (percents summing to 100, or "" for none); --mirror-traffic
"green=10" copies that share of live traffic to one deployment (at most 50 %,
never one with live traffic); --mirror-traffic "" or "green=0" stops mirroring.
Only the settings that change are sent.`,
		Example: `  vigil endpoint update -n my-endpoint --traffic "blue=90 green=10"
  vigil endpoint update -n my-endpoint --mirror-traffic "green=10"
  vigil endpoint update -f endpoint.yml --set public_network_access=disabled`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fileDoc, err := loadFile(cmd, file)
			if err != nil {
				return err
			}
			if name == "" {
				name = scalarField(fileDoc, "name")
			}
			if name == "" {
				return errors.New("which endpoint? give --name (or a file with name:)")
			}
			if file == "" && len(sets) == 0 && !cmd.Flags().Changed("traffic") && !cmd.Flags().Changed("mirror-traffic") {
				return errors.New("nothing to update: give -f, --set, --traffic or --mirror-traffic")
			}
			var trafficMap, mirrorMap map[string]int
			if cmd.Flags().Changed("traffic") {
				if trafficMap, err = parseTraffic("--traffic", traffic); err != nil {
					return err
				}
			}
			if cmd.Flags().Changed("mirror-traffic") {
				if mirrorMap, err = parseTraffic("--mirror-traffic", mirror); err != nil {
					return err
				}
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cur, err := c.GetEndpoint(cmd.Context(), name)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			doc, err := docFromJSON(cur, append([]string{"name"}, endpointMutable...), "the server's copy of endpoint "+name)
			if err != nil {
				return err
			}
			prev, _, err := doc.load(endpointFields)
			if err != nil {
				return err
			}
			doc.overlay(fileDoc)
			next, err := doc.resolve(cmd, endpointFields, []flagValue{{"name", name, "--name"}}, sets)
			if err != nil {
				return err
			}
			if next["name"] != name {
				return fmt.Errorf("name: an endpoint cannot be renamed (from %s to %v); create a new one", name, next["name"])
			}
			if trafficMap != nil {
				next["traffic"] = trafficMap
			}
			if mirrorMap != nil {
				for k, p := range mirrorMap {
					if p == 0 {
						delete(mirrorMap, k)
					}
				}
				next["mirror_traffic"] = mirrorMap
			}
			patch := diffPatch(prev, next, endpointMutable)
			if t, ok := patch["traffic"]; ok && emptyish(t) {
				patch["traffic"] = map[string]int{}
			}
			if len(patch) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "endpoint %s: nothing to change\n", name)
				return printEndpoint(cmd, cf, cur)
			}
			out, err := c.UpdateEndpoint(cmd.Context(), name, patch)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			return printEndpoint(cmd, cf, out)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `endpoint YAML file (Azure ML format); "-" reads standard input`)
	f.StringVarP(&name, "name", "n", "", "endpoint name (default: name: in the file)")
	f.StringVar(&traffic, "traffic", "", `live traffic split, e.g. "blue=90 green=10"; "" for none`)
	f.StringVar(&mirror, "mirror-traffic", "", `mirrored traffic, e.g. "green=10"; "" or "green=0" to stop`)
	f.StringArrayVar(&sets, "set", nil, "override a setting: key=value or a.b=value (repeatable)")
	return cmd
}

// nameFlag registers the required -n/--name flag of an endpoint verb.
func nameFlag(cmd *cobra.Command, name *string) {
	cmd.Flags().StringVarP(name, "name", "n", "", "endpoint name (required)")
	cmd.MarkFlagRequired("name")
}

func newEndpointShowCmd(cf *clientFlags) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "show -n NAME",
		Short: "Show an endpoint",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ep, err := c.GetEndpoint(cmd.Context(), name)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			return printEndpoint(cmd, cf, ep)
		},
	}
	nameFlag(cmd, &name)
	return cmd
}

func newEndpointListCmd(cf *clientFlags) *cobra.Command {
	return listCmd(cf, &cobra.Command{
		Use:   "list",
		Short: "List the endpoints",
	}, (*client.Client).ListEndpoints, endpointTable)
}

func newEndpointDeleteCmd(cf *clientFlags) *cobra.Command {
	var name string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete -n NAME [--yes]",
		Short: "Delete an endpoint with its deployments and keys",
		Long: `Delete an endpoint with its deployments and keys. Without --yes it asks on the
terminal; with no terminal (a script, a pipe) it refuses instead of waiting.
The built-in endpoint "default" cannot be deleted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if !yes {
				if err := confirmDelete(cmd, fmt.Sprintf("Delete endpoint %s with all its deployments and keys?", name)); err != nil {
					return err
				}
			}
			if err := c.DeleteEndpoint(cmd.Context(), name); err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "deleted endpoint %s\n", name)
			return nil
		},
	}
	nameFlag(cmd, &name)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

// credential returns what a caller presents to score on ep: its primary key
// or a new aml_token.
func credential(cmd *cobra.Command, cf *clientFlags, c *client.Client, ep *client.Endpoint) (string, error) {
	switch ep.AuthMode {
	case vigil.AuthKey:
		k, err := c.ListKeys(cmd.Context(), ep.Name)
		if err != nil {
			return "", cf.explain(err, notFoundEndpoint)
		}
		return k.PrimaryKey, nil
	case vigil.AuthAMLToken:
		t, err := c.GetToken(cmd.Context(), ep.Name)
		if err != nil {
			return "", cf.explain(err, notFoundEndpoint)
		}
		return t.AccessToken, nil
	}
	return "", &hintError{
		msg:  fmt.Sprintf("endpoint %s uses auth_mode %s: its tokens come from your identity provider, not from Vigil", ep.Name, ep.AuthMode),
		hint: fmt.Sprintf("get a token from the identity provider and POST to %s with Authorization: Bearer <token>", ep.ScoringURI),
	}
}

func newEndpointInvokeCmd(cf *clientFlags) *cobra.Command {
	var name, requestFile, deployment string
	cmd := &cobra.Command{
		Use:   "invoke -n NAME --request-file request.json [--deployment-name D]",
		Short: "Score a request on an endpoint",
		Long: `Send a request to an endpoint's scoring route (/endpoints/NAME/score) and print
the answer. The client fetches the endpoint's credential first (its primary
key, or a new aml_token) with the admin token. --deployment-name pins the
call to one deployment (also one with 0 % traffic) and turns mirroring off for
it. The answer is printed as indented JSON (as YAML with -o yaml); the
deployment that served the call is printed on standard error. A non-2xx
answer exits 1 with the server's message.`,
		Example: `  vigil endpoint invoke -n my-endpoint --request-file request.json
  vigil endpoint invoke -n my-endpoint --request-file request.json --deployment-name green`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			body, err := readInput(cmd, "--request-file", requestFile, 16<<20)
			if err != nil {
				return err
			}
			if !json.Valid(body) {
				return fmt.Errorf("--request-file %s: not JSON; the request is an Anomaly Detector request body ({\"series\": [...], ...})", requestFile)
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ep, err := c.GetEndpoint(cmd.Context(), name)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			cred, err := credential(cmd, cf, c, ep)
			if err != nil {
				return err
			}
			res, err := c.Score(cmd.Context(), name, body, cred, deployment)
			if err != nil {
				return cf.explain(err, "")
			}
			if res.Deployment != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "served by deployment %s\n", cellText(res.Deployment))
			}
			if res.Status < 200 || res.Status > 299 {
				e := client.ErrorFromResponse(res.Status, res.Body)
				msg := e.Message
				if e.APICode != "" {
					msg = e.APICode + ": " + msg
				}
				h := &hintError{msg: fmt.Sprintf("scoring answered %d: %s", res.Status, msg), err: e}
				switch {
				case e.APICode == "NoDeployment" || e.Code == vigil.ENotFound && deployment == "":
					h.hint = fmt.Sprintf(`give the endpoint traffic (vigil endpoint update -n %s --traffic "DEPLOYMENT=100") or pin a deployment with --deployment-name`, name)
				case e.Code == vigil.ENotFound:
					h.hint = notFoundDeployment(name)
				case e.Code == vigil.ERateLimited:
					h.hint = "the deployment is at its concurrency limit; retry, or raise instance_count or request_settings.max_concurrent_requests_per_instance"
				}
				return h
			}
			return printBody(cmd, cf.output, res.Body)
		},
	}
	nameFlag(cmd, &name)
	f := cmd.Flags()
	f.StringVarP(&requestFile, "request-file", "r", "", `JSON request body; "-" reads standard input (required)`)
	f.StringVarP(&deployment, "deployment-name", "d", "", "pin the call to this deployment")
	cmd.MarkFlagRequired("request-file")
	return cmd
}

// printBody prints a JSON answer: indented for table and json, as YAML for
// yaml. Non-JSON is printed as it came.
func printBody(cmd *cobra.Command, format string, body []byte) error {
	w := cmd.OutOrStdout()
	var v any
	if json.Unmarshal(body, &v) != nil {
		_, err := w.Write(body)
		return err
	}
	if format == "yaml" {
		var raw json.RawMessage = body
		b, err := toYAML(raw)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

func newEndpointCredentialsCmd(cf *clientFlags) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "get-credentials -n NAME",
		Short: "Print an endpoint's keys, or a new aml_token",
		Long: `Print what a caller needs to score on the endpoint: for auth_mode key its
primaryKey and secondaryKey; for aml_token a new token (accessToken,
tokenType, expiryTimeUtc, refreshAfterTimeUtc). The output holds secrets:
do not paste it into tickets or logs.`,
		Example: `  vigil endpoint get-credentials -n my-endpoint -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ep, err := c.GetEndpoint(cmd.Context(), name)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			switch ep.AuthMode {
			case vigil.AuthKey:
				k, err := c.ListKeys(cmd.Context(), name)
				if err != nil {
					return cf.explain(err, notFoundEndpoint)
				}
				return render(cmd.OutOrStdout(), cf.output, k, func(tw *tabwriter.Writer) {
					row(tw, "PRIMARY_KEY", "SECONDARY_KEY")
					row(tw, k.PrimaryKey, k.SecondaryKey)
				})
			case vigil.AuthAMLToken:
				t, err := c.GetToken(cmd.Context(), name)
				if err != nil {
					return cf.explain(err, notFoundEndpoint)
				}
				return render(cmd.OutOrStdout(), cf.output, t, func(tw *tabwriter.Writer) {
					row(tw, "TOKEN_TYPE", "EXPIRY_TIME_UTC", "REFRESH_AFTER_TIME_UTC", "ACCESS_TOKEN")
					row(tw, t.TokenType, t.ExpiryTimeUTC.UTC().Format("2006-01-02T15:04:05Z"), t.RefreshAfterTimeUTC.UTC().Format("2006-01-02T15:04:05Z"), t.AccessToken)
				})
			}
			_, err = credential(cmd, cf, c, ep)
			return err
		},
	}
	nameFlag(cmd, &name)
	return cmd
}

func newEndpointRegenerateCmd(cf *clientFlags) *cobra.Command {
	var name, keyType, keyValue string
	cmd := &cobra.Command{
		Use:   "regenerate-keys -n NAME --key-type primary|secondary [--key-value V]",
		Short: "Replace one of an endpoint's keys",
		Long: `Replace the primary or secondary key of a key-auth endpoint with a new random
key, or with --key-value (16-128 printable characters; "-" reads it from
standard input, which keeps it out of process listings). The old key stops
working at once: rotate by moving callers to the other key first.`,
		Example: `  vigil endpoint regenerate-keys -n my-endpoint --key-type secondary`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			keyType = strings.ToLower(keyType)
			if keyType != string(vigil.PrimaryKey) && keyType != string(vigil.SecondaryKey) {
				return fmt.Errorf("--key-type must be primary or secondary, not %q", clipText(keyType))
			}
			if keyValue == "-" {
				b, err := readInput(cmd, "--key-value", "-", 4096)
				if err != nil {
					return err
				}
				keyValue = strings.TrimRight(string(b), "\r\n")
			}
			if keyValue != "" {
				if err := vigil.ValidateAPIKey(keyValue); err != nil {
					return fmt.Errorf("--key-value: %s", err.(*vigil.Error).Message)
				}
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := c.RegenerateKeys(cmd.Context(), name, keyType, keyValue); err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "regenerated the %s key of endpoint %s; vigil endpoint get-credentials -n %s shows it\n", keyType, name, name)
			return nil
		},
	}
	nameFlag(cmd, &name)
	f := cmd.Flags()
	f.StringVar(&keyType, "key-type", "", "primary or secondary (required)")
	f.StringVar(&keyValue, "key-value", "", `the new key instead of a random one; "-" reads it from standard input`)
	cmd.MarkFlagRequired("key-type")
	return cmd
}

// newSigningKeyCmd is "vigil signing-key rotate".
func newSigningKeyCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signing-key",
		Short: "Manage the key that signs aml_tokens",
		Args:  cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(&cobra.Command{
		Use:   "rotate",
		Short: "Sign new aml_tokens with a new key",
		Long: `Make the server sign new aml_tokens with a new key. Tokens signed with the old
key keep working until they expire.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			k, err := c.RotateSigningKey(cmd.Context())
			if err != nil {
				return cf.explain(err, "")
			}
			return render(cmd.OutOrStdout(), cf.output, k, func(tw *tabwriter.Writer) {
				row(tw, "KID")
				row(tw, k.KID)
			})
		},
	})
	return cmd
}
