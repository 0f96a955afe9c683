package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/vigilhq/vigil/internal/client"
	"github.com/vigilhq/vigil/internal/vigil"
	"go.yaml.in/yaml/v3"
)

// deploymentMutable are the deployment fields PATCH accepts.
var deploymentMutable = []string{"description", "instance_count", "request_settings", "egress_public_network_access", "environment_variables", "liveness_probe", "readiness_probe", "tags"}

func newDeploymentCmd(getenv func(string) string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deployment",
		Short: "Manage an endpoint's deployments (az ml online-deployment)",
		Long: `Manage the deployments behind an endpoint, as "az ml online-deployment" does on
Azure Machine Learning. Deployment YAML files written for Azure load with
Azure-only settings (instance_type, environment, code_configuration, ...)
ignored with a warning; an Azure ML model reference (model: azureml:...) must
become model: ` + vigil.BuiltinAnomalyDetector + `.

The server is --url (VIGIL_URL, default ` + defaultServerURL + `); the admin token is
--token, else VIGIL_TOKEN, else the file admin-token in the data directory
(--data, VIGIL_DATA, default ` + defaultDataDir + `).`,
		Args: cobra.NoArgs,
	}
	cf := addClientFlags(cmd, getenv)
	cmd.AddCommand(
		newDeploymentCreateCmd(cf),
		newDeploymentUpdateCmd(cf),
		newDeploymentShowCmd(cf),
		newDeploymentListCmd(cf),
		newDeploymentDeleteCmd(cf),
		newDeploymentLogsCmd(cf),
	)
	for _, c := range cmd.Commands() {
		c.DisableFlagsInUseLine = true
	}
	return cmd
}

// deploymentTable writes deployments as a table; ep (when known) gives the
// traffic column.
func deploymentTable(ds []client.Deployment, ep *client.Endpoint) func(*tabwriter.Writer) {
	return func(tw *tabwriter.Writer) {
		row(tw, "NAME", "ENDPOINT", "MODEL", "INSTANCES", "TIMEOUT_MS", "MAX_CONCURRENT", "TRAFFIC%")
		for _, d := range ds {
			traffic := "?"
			if ep != nil {
				traffic = strconv.Itoa(ep.Traffic[d.Name])
				if m := ep.MirrorTraffic[d.Name]; m > 0 {
					traffic += fmt.Sprintf(" (mirror %d)", m)
				}
			}
			row(tw, d.Name, d.EndpointName, d.Model, d.InstanceCount, d.RequestSettings.RequestTimeoutMS, d.RequestSettings.MaxConcurrentRequestsPerInstance, traffic)
		}
	}
}

// printDeployments renders deployments; the table needs the endpoint's
// traffic, fetched only for it.
func printDeployments(cmd *cobra.Command, cf *clientFlags, c *client.Client, endpoint string, ds []client.Deployment, one bool) error {
	var v any = ds
	if one {
		v = &ds[0]
	}
	var ep *client.Endpoint
	if cf.output == "table" {
		ep, _ = c.GetEndpoint(cmd.Context(), endpoint)
	}
	return render(cmd.OutOrStdout(), cf.output, v, deploymentTable(ds, ep))
}

// deploymentFlags are the -e/--endpoint-name and -n/--name flags.
func deploymentFlags(cmd *cobra.Command, endpoint, name *string, required bool) {
	f := cmd.Flags()
	suffix := ""
	if required {
		suffix = " (required)"
	}
	f.StringVarP(endpoint, "endpoint-name", "e", "", "endpoint name"+suffix)
	f.StringVarP(name, "name", "n", "", "deployment name"+suffix)
	if required {
		cmd.MarkFlagRequired("endpoint-name")
		cmd.MarkFlagRequired("name")
	}
}

func newDeploymentCreateCmd(cf *clientFlags) *cobra.Command {
	var file, endpoint, name string
	var sets []string
	var allTraffic bool
	cmd := &cobra.Command{
		Use:   "create [-f deployment.yml] [-e ENDPOINT] [-n NAME] [--all-traffic] [--set key=value]...",
		Short: "Create a deployment",
		Long: `Create a deployment from an Azure ML deployment YAML file (-f), from flags, or
both. -e and -n override endpoint_name: and name: in the file; --set key=value
overrides any setting (the value is read as YAML). Unset settings take the
defaults: model ` + vigil.BuiltinAnomalyDetector + `, instance_count 1,
request_timeout_ms 5000, max_concurrent_requests_per_instance 1.
--all-traffic sends all of the endpoint's live traffic to the new deployment.`,
		Example: `  vigil deployment create -e my-endpoint -n blue --all-traffic
  vigil deployment create -f deployment.yml --set model=` + vigil.BuiltinAnomalyDetector,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			doc, err := loadFile(cmd, file)
			if err != nil {
				return err
			}
			spec, err := doc.resolve(cmd, deploymentFields, []flagValue{{"name", name, "--name"}, {"endpoint_name", endpoint, "--endpoint-name"}}, sets)
			if err != nil {
				return err
			}
			d, err := deploymentFromSpec(spec)
			if err != nil {
				return err
			}
			switch {
			case d.EndpointName == "":
				return errors.New("which endpoint? give --endpoint-name (or endpoint_name: in the file)")
			case d.Name == "":
				return errors.New("the deployment needs a name: give --name or name: in the file")
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			out, err := c.CreateDeployment(cmd.Context(), d.EndpointName, d, allTraffic)
			if err != nil {
				err = cf.explain(err, notFoundEndpoint)
				if h, ok := err.(*hintError); ok && vigil.ErrorCode(err) == vigil.EConflict {
					h.hint = fmt.Sprintf("change it with vigil deployment update -e %s -n %s, or pick another name", d.EndpointName, d.Name)
				}
				return err
			}
			return printDeployments(cmd, cf, c, d.EndpointName, []client.Deployment{*out}, true)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `deployment YAML file (Azure ML format); "-" reads standard input`)
	deploymentFlags(cmd, &endpoint, &name, false)
	f.BoolVar(&allTraffic, "all-traffic", false, "send all of the endpoint's live traffic to this deployment")
	f.StringArrayVar(&sets, "set", nil, "override a setting: key=value or a.b=value (repeatable)")
	return cmd
}

// deploymentFromSpec converts loaded settings to a deployment. Probes given
// in part take Azure's defaults for the other fields.
func deploymentFromSpec(spec map[string]any) (*client.Deployment, error) {
	fillDefaults(spec)
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var d client.Deployment
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func newDeploymentUpdateCmd(cf *clientFlags) *cobra.Command {
	var file, endpoint, name string
	var sets []string
	cmd := &cobra.Command{
		Use:   "update -e ENDPOINT -n NAME [-f deployment.yml] [--set key=value]...",
		Short: "Update a deployment",
		Long: `Update a deployment. The settings in the file (-f) replace the stored ones; a
setting the file leaves out keeps its value. --set key=value overrides one
setting (request_settings.request_timeout_ms=9000 changes only that field).
A deployment's model cannot change: create a new deployment and move the
traffic instead. Only the settings that change are sent.`,
		Example: `  vigil deployment update -e my-endpoint -n blue --set instance_count=2`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			fileDoc, err := loadFile(cmd, file)
			if err != nil {
				return err
			}
			if name == "" {
				name = scalarField(fileDoc, "name")
			}
			if endpoint == "" {
				endpoint = scalarField(fileDoc, "endpoint_name")
			}
			switch {
			case endpoint == "":
				return errors.New("which endpoint? give --endpoint-name (or a file with endpoint_name:)")
			case name == "":
				return errors.New("which deployment? give --name (or a file with name:)")
			case file == "" && len(sets) == 0:
				return errors.New("nothing to update: give -f or --set")
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			cur, err := c.GetDeployment(cmd.Context(), endpoint, name)
			if err != nil {
				return cf.explain(err, notFoundDeployment(endpoint))
			}
			doc, err := docFromJSON(cur, append([]string{"name", "endpoint_name", "model"}, deploymentMutable...), fmt.Sprintf("the server's copy of deployment %s/%s", endpoint, name))
			if err != nil {
				return err
			}
			prev, _, err := doc.load(deploymentFields)
			if err != nil {
				return err
			}
			doc.overlay(fileDoc)
			next, err := doc.resolve(cmd, deploymentFields, []flagValue{{"name", name, "--name"}, {"endpoint_name", endpoint, "--endpoint-name"}}, sets)
			if err != nil {
				return err
			}
			fillDefaults(next)
			if next["name"] != name || next["endpoint_name"] != endpoint {
				return fmt.Errorf("name, endpoint_name: a deployment cannot be renamed or moved (from %s/%s to %v/%v); create a new one", endpoint, name, next["endpoint_name"], next["name"])
			}
			if m, ok := next["model"].(string); ok && m != cur.Model {
				return &hintError{
					msg:  fmt.Sprintf("model: deployment %s serves %s; a deployment's model cannot change", name, cur.Model),
					hint: fmt.Sprintf("create a new deployment with model %s, then move traffic to it with vigil endpoint update -n %s --traffic", clipText(m), endpoint),
				}
			}
			patch := diffPatch(prev, next, deploymentMutable)
			if len(patch) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "deployment %s/%s: nothing to change\n", endpoint, name)
				return printDeployments(cmd, cf, c, endpoint, []client.Deployment{*cur}, true)
			}
			out, err := c.UpdateDeployment(cmd.Context(), endpoint, name, patch)
			if err != nil {
				return cf.explain(err, notFoundDeployment(endpoint))
			}
			return printDeployments(cmd, cf, c, endpoint, []client.Deployment{*out}, true)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&file, "file", "f", "", `deployment YAML file (Azure ML format); "-" reads standard input`)
	deploymentFlags(cmd, &endpoint, &name, false)
	f.StringArrayVar(&sets, "set", nil, "override a setting: key=value or a.b=value (repeatable)")
	return cmd
}

// fillDefaults completes probes and request settings given in part with
// Azure's defaults for the fields left out, as Azure reads a file.
func fillDefaults(spec map[string]any) {
	defaults := map[string]map[string]any{
		"liveness_probe":   {"initial_delay": 10, "period": 10, "timeout": 2, "success_threshold": 1, "failure_threshold": 30},
		"readiness_probe":  {"initial_delay": 10, "period": 10, "timeout": 2, "success_threshold": 1, "failure_threshold": 30},
		"request_settings": {"request_timeout_ms": 5000, "max_concurrent_requests_per_instance": 1},
	}
	for key, full := range defaults {
		m, ok := spec[key].(map[string]any)
		if !ok {
			continue
		}
		for k, v := range m {
			full[k] = v
		}
		spec[key] = full
	}
}

// scalarField returns a top-level string field of a document, or "".
func scalarField(d *resourceDoc, key string) string {
	if n := lookup(d.root, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

func newDeploymentShowCmd(cf *clientFlags) *cobra.Command {
	var endpoint, name string
	cmd := &cobra.Command{
		Use:   "show -e ENDPOINT -n NAME",
		Short: "Show a deployment",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			d, err := c.GetDeployment(cmd.Context(), endpoint, name)
			if err != nil {
				return cf.explain(err, notFoundDeployment(endpoint))
			}
			return printDeployments(cmd, cf, c, endpoint, []client.Deployment{*d}, true)
		},
	}
	deploymentFlags(cmd, &endpoint, &name, true)
	return cmd
}

func newDeploymentListCmd(cf *clientFlags) *cobra.Command {
	var endpoint string
	cmd := &cobra.Command{
		Use:   "list -e ENDPOINT",
		Short: "List an endpoint's deployments",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			ds, err := c.ListDeployments(cmd.Context(), endpoint)
			if err != nil {
				return cf.explain(err, notFoundEndpoint)
			}
			if ds == nil {
				ds = []client.Deployment{}
			}
			return printDeployments(cmd, cf, c, endpoint, ds, false)
		},
	}
	cmd.Flags().StringVarP(&endpoint, "endpoint-name", "e", "", "endpoint name (required)")
	cmd.MarkFlagRequired("endpoint-name")
	return cmd
}

func newDeploymentDeleteCmd(cf *clientFlags) *cobra.Command {
	var endpoint, name string
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete -e ENDPOINT -n NAME [--yes]",
		Short: "Delete a deployment",
		Long: `Delete a deployment. A deployment that takes live traffic or is the mirror
target cannot be deleted: move its traffic first. Without --yes it asks on
the terminal; with no terminal it refuses instead of waiting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if !yes {
				if err := confirmDelete(cmd, fmt.Sprintf("Delete deployment %s of endpoint %s?", name, endpoint)); err != nil {
					return err
				}
			}
			if err := c.DeleteDeployment(cmd.Context(), endpoint, name); err != nil {
				// A conflict's message (live or mirrored traffic) says what to do.
				return cf.explain(err, notFoundDeployment(endpoint))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "deleted deployment %s of endpoint %s\n", name, endpoint)
			return nil
		},
	}
	deploymentFlags(cmd, &endpoint, &name, true)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "delete without asking")
	return cmd
}

func newDeploymentLogsCmd(cf *clientFlags) *cobra.Command {
	var endpoint, name string
	var lines int
	cmd := &cobra.Command{
		Use:   "get-logs -e ENDPOINT -n NAME [--lines N]",
		Short: "Show a deployment's recent request log",
		Long: `Show a deployment's recent requests, oldest first: time, status, latency,
caller (which key or token) and the deployment that served (mirrored copies
are marked). The log never holds a payload or a secret.`,
		Example: `  vigil deployment get-logs -e my-endpoint -n blue --lines 20`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if lines < 0 || lines > 5000 {
				return fmt.Errorf("--lines must be from 1 to 5000, not %d", lines)
			}
			c, err := cf.client(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			logs, err := c.DeploymentLogs(cmd.Context(), endpoint, name, lines)
			if err != nil {
				return cf.explain(err, notFoundDeployment(endpoint))
			}
			if logs == nil {
				logs = []client.LogEntry{}
			}
			return render(cmd.OutOrStdout(), cf.output, logs, func(tw *tabwriter.Writer) {
				row(tw, "TIME", "STATUS", "LATENCY_MS", "CALLER", "DEPLOYMENT")
				for _, l := range logs {
					dep := l.Deployment
					if l.Mirrored {
						dep += " (mirror)"
					}
					row(tw, l.Time.UTC().Format("2006-01-02T15:04:05.000Z"), l.Status, strconv.FormatFloat(l.LatencyMS, 'f', 2, 64), l.Caller, dep)
				}
			})
		},
	}
	deploymentFlags(cmd, &endpoint, &name, true)
	cmd.Flags().IntVarP(&lines, "lines", "l", 0, "how many of the most recent requests (default 100, at most 5000)")
	return cmd
}
