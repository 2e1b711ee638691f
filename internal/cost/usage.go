package cost

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// DefaultUsage are the usage assumptions: the Terraform setup's own ("100 GB of data transfer",
// "100 GB storage" in S3), and modest figures for what it does not state.
var DefaultUsage = map[string]float64{
	"internetEgressGB":         100, // out of the load balancer to users
	"natProcessedGB":           100, // through the NAT gateways (S3 goes through its free endpoint)
	"albLCU":                   1,   // load balancer capacity units, on average
	"logsIngestGB":             10,  // the services', database's and cache's logs
	"logsStoredGB":             20,  // kept by the retention
	"flowLogsGB":               5,   // VPC flow logs
	"uploadsGB":                50,  // stored in the uploads bucket
	"backupsGB":                50,  // stored in the backups bucket
	"backupsArchivedShare":     0.5, // of the backups, past backupsArchiveAfterDays
	"accessLogsGB":             5,   // the logs bucket (load balancer and S3 access logs)
	"imageGBPerRepository":     5,   // the images an ECR repository keeps
	"containerInsightsMetrics": 60,  // custom metrics Container Insights publishes for the cluster
	"wafRequestsMillions":      10,  // requests the firewall inspects
	"wafLogsGB":                1,   // what it blocks or counts, logged
	"drTransferGB":             10,  // bucket objects replicated to the DR region
	"drBackupTransferGB":       20,  // database backups replicated to the DR region
	"redeploysPerMonth":        5,   // the backend's redeploys after a secret change (RDS rotates weekly)
}

// CheckUsage checks one usage assumption: a known one, and a non-negative number (a share at
// most 1). Its error says what is allowed.
func CheckUsage(key string, v float64) error {
	if _, known := DefaultUsage[key]; !known {
		return fmt.Errorf("one of the cost command's assumptions: %s", strings.Join(slices.Sorted(maps.Keys(DefaultUsage)), ", "))
	}
	switch {
	case key == "backupsArchivedShare" && (v < 0 || v > 1):
		return errors.New("a share from 0 to 1")
	case v < 0 || math.IsNaN(v) || math.IsInf(v, 0):
		return errors.New("a non-negative number")
	}
	return nil
}
