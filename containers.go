package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// containerSpec is everything a container definition needs, resolved to plain values.
type containerSpec struct {
	Name     string
	Image    string
	Port     int
	User     string
	LogGroup string
	Region   string
	// Environment holds plain settings; Secrets maps variable names to the ARN (or ARN with a
	// JSON key) ECS reads them from. A value never appears in both.
	Environment map[string]string
	Secrets     map[string]string
	// ExecEnabled prepares the container for ECS Exec (an init process reaps the sessions).
	ExecEnabled bool
	// ReadonlyRootFilesystem mounts the image read-only; Volumes stay writable.
	ReadonlyRootFilesystem bool
	Volumes                []writableVolume
}

// writableVolume is a directory of a read-only container that stays writable: an empty volume
// on the task's ephemeral storage, mounted at path.
type writableVolume struct {
	name, path string
}

// execWritablePaths are where the SSM agent of ECS Exec keeps its state and logs; with a
// read-only root filesystem they must be writable or every session fails (the workaround of
// aws-containers/amazon-ecs-exec-checker and containers-roadmap #1359).
var execWritablePaths = []string{"/var/lib/amazon", "/var/log/amazon"}

// writableVolumes are the volumes of a container: its writable paths, and ECS Exec's when it
// is enabled on a read-only root filesystem. Volume names derive from the paths ("/var/cache/nginx"
// is "var-cache-nginx"), which ECS accepts: letters, digits, hyphens and underscores.
func writableVolumes(readonly, exec bool, paths []string) []writableVolume {
	if !readonly {
		return nil
	}
	all := append([]string{}, paths...)
	if exec {
		all = append(all, execWritablePaths...)
	}
	var out []writableVolume
	for _, p := range all {
		name := strings.NewReplacer("/", "-", ".", "_").Replace(strings.Trim(p, "/"))
		out = append(out, writableVolume{name: name, path: p})
	}
	return out
}

// stopTimeoutSeconds is how long ECS waits after SIGTERM before SIGKILL: time for a task to
// finish its requests.
const stopTimeoutSeconds = 30

// containerDefinition is the part of ECS's container definition the program sets.
type containerDefinition struct {
	Name             string           `json:"name"`
	Image            string           `json:"image"`
	Essential        bool             `json:"essential"`
	User             string           `json:"user,omitempty"`
	PortMappings     []portMapping    `json:"portMappings"`
	Environment      []nameValue      `json:"environment"`
	Secrets          []nameValueFrom  `json:"secrets"`
	LogConfiguration logConfiguration `json:"logConfiguration"`
	LinuxParameters  *linuxParameters `json:"linuxParameters,omitempty"`
	Privileged       bool             `json:"privileged"`
	// ReadonlyRootFilesystem (Security Hub ECS.5) keeps a compromised process from changing the
	// image's files; MountPoints are the writable exceptions.
	ReadonlyRootFilesystem bool         `json:"readonlyRootFilesystem"`
	MountPoints            []mountPoint `json:"mountPoints"`
	StopTimeout            int          `json:"stopTimeout"`
}

type portMapping struct {
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"`
	Name          string `json:"name"`
}

type mountPoint struct {
	SourceVolume  string `json:"sourceVolume"`
	ContainerPath string `json:"containerPath"`
	ReadOnly      bool   `json:"readOnly"`
}

type nameValue struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type nameValueFrom struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type logConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options"`
}

type linuxParameters struct {
	InitProcessEnabled bool `json:"initProcessEnabled"`
}

// containerDefinitions renders the task's single container as the JSON ECS expects. Names are
// sorted so the document, and so the task definition, only changes when a value does.
func containerDefinitions(s containerSpec) (string, error) {
	def := containerDefinition{
		Name:         s.Name,
		Image:        s.Image,
		Essential:    true,
		User:         s.User,
		PortMappings: portMappings(s.Name, s.Port),
		Environment:  []nameValue{},
		Secrets:      []nameValueFrom{},
		LogConfiguration: logConfiguration{
			LogDriver: "awslogs",
			Options: map[string]string{
				"awslogs-group":         s.LogGroup,
				"awslogs-region":        s.Region,
				"awslogs-stream-prefix": s.Name,
			},
		},
		StopTimeout:            stopTimeoutSeconds,
		ReadonlyRootFilesystem: s.ReadonlyRootFilesystem,
		MountPoints:            []mountPoint{},
	}
	for _, v := range s.Volumes {
		def.MountPoints = append(def.MountPoints, mountPoint{SourceVolume: v.name, ContainerPath: v.path})
	}
	for _, name := range sortedKeys(s.Environment) {
		if _, dup := s.Secrets[name]; dup {
			return "", fmt.Errorf("container %s: %s is both a setting and a secret", s.Name, name)
		}
		def.Environment = append(def.Environment, nameValue{name, s.Environment[name]})
	}
	for _, name := range sortedKeys(s.Secrets) {
		def.Secrets = append(def.Secrets, nameValueFrom{name, s.Secrets[name]})
	}
	if s.ExecEnabled {
		def.LinuxParameters = &linuxParameters{InitProcessEnabled: true}
	}
	b, err := json.Marshal([]containerDefinition{def})
	if err != nil {
		return "", fmt.Errorf("rendering container definitions of %s: %w", s.Name, err)
	}
	return string(b), nil
}

// The backend's settings and secrets, by environment variable.
const (
	envDatabaseHost     = "DATABASE_HOST"
	envDatabasePort     = "DATABASE_PORT"
	envDatabaseName     = "DATABASE_NAME"
	envDatabaseUser     = "DATABASE_USER"
	envDatabasePassword = "DATABASE_PASSWORD"
	envRedisHost        = "REDIS_HOST"
	envRedisPort        = "REDIS_PORT"
	envRedisTLS         = "REDIS_TLS"
	envRedisAuthToken   = "REDIS_AUTH_TOKEN"
	envUploadsBucket    = "UPLOADS_BUCKET"
	envRegion           = "AWS_REGION"
	envEnvironment      = "ENVIRONMENT"
	envQueueURL         = "QUEUE_URL"
)

// reservedEnvNames are the variables the program sets; backendSecrets may not reuse them.
func reservedEnvNames() []string {
	names := []string{envDatabaseHost, envDatabasePort, envDatabaseName, envDatabaseUser, envDatabasePassword,
		envRedisHost, envRedisPort, envRedisTLS, envRedisAuthToken, envUploadsBucket, envRegion, envEnvironment, envQueueURL}
	sort.Strings(names)
	return names
}

func isReservedEnv(name string) bool { return slices.Contains(reservedEnvNames(), name) }

// portMappings publish the container's port; none for a worker (port 0), which takes no
// traffic.
func portMappings(name string, port int) []portMapping {
	if port == 0 {
		return []portMapping{}
	}
	return []portMapping{{ContainerPort: port, Protocol: "tcp", Name: name + "-" + strconv.Itoa(port)}}
}
