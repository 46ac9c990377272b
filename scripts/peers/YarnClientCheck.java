import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ApplicationSubmissionContext;
import org.apache.hadoop.yarn.api.records.ContainerLaunchContext;
import org.apache.hadoop.yarn.api.records.NodeReport;
import org.apache.hadoop.yarn.api.records.NodeState;
import org.apache.hadoop.yarn.api.records.QueueInfo;
import org.apache.hadoop.yarn.api.records.Resource;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.client.api.YarnClientApplication;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.exceptions.ApplicationNotFoundException;

/**
 * Hadoop's own YarnClient against spindle's mini-yarn: the cluster views, a submission, the kill
 * (YarnClientImpl.killApplication loops until the RM says the kill completed), and an unknown
 * application. Prints one line per check; exits 1 on the first that fails.
 */
public class YarnClientCheck {
    static void check(boolean ok, String what) {
        System.out.println((ok ? "ok   " : "FAIL ") + what);
        if (!ok) System.exit(1);
    }

    public static void main(String[] args) throws Exception {
        YarnClient yarn = YarnClient.createYarnClient();
        yarn.init(new YarnConfiguration());
        yarn.start();

        List<NodeReport> nodes = yarn.getNodeReports(NodeState.RUNNING);
        check(!nodes.isEmpty() && nodes.get(0).getCapability().getVirtualCores() > 0,
                "getNodeReports(RUNNING): " + nodes.size() + " nodes");
        check(yarn.getYarnClusterMetrics().getNumNodeManagers() == nodes.size(),
                "getYarnClusterMetrics: " + yarn.getYarnClusterMetrics().getNumNodeManagers() + " NodeManagers");
        List<QueueInfo> queues = yarn.getAllQueues();
        check(!queues.isEmpty(), "getAllQueues: " + queues.get(0).getQueueName());

        YarnClientApplication app = yarn.createApplication();
        Resource max = app.getNewApplicationResponse().getMaximumResourceCapability();
        check(max.getMemorySize() > 0, "createApplication: max " + max);
        ApplicationSubmissionContext ctx = app.getApplicationSubmissionContext();
        ApplicationId id = ctx.getApplicationId();
        ctx.setApplicationName("yarn-client-check");
        ctx.setApplicationType("CHECK");
        ctx.setResource(Resource.newInstance(256, 1));
        ctx.setMaxAppAttempts(1);
        ctx.setAMContainerSpec(ContainerLaunchContext.newInstance(Collections.emptyMap(),
                Collections.emptyMap(), Collections.singletonList("exec sleep 600"), null, null, null));
        yarn.submitApplication(ctx); // polls the report until the app is past SUBMITTED
        ApplicationReport r = yarn.getApplicationReport(id);
        check(r.getYarnApplicationState() == YarnApplicationState.ACCEPTED
                || r.getYarnApplicationState() == YarnApplicationState.RUNNING,
                "submitApplication: " + id + " " + r.getYarnApplicationState());
        check(yarn.getApplications(Collections.singleton("CHECK")).size() == 1, "getApplications(types=CHECK)");
        check(yarn.getApplications(EnumSet.of(YarnApplicationState.FINISHED)).stream()
                .noneMatch(a -> a.getApplicationId().equals(id)), "getApplications(states=FINISHED) leaves it out");

        yarn.killApplication(id, "checked");
        r = yarn.getApplicationReport(id);
        check(r.getYarnApplicationState() == YarnApplicationState.KILLED,
                "killApplication: " + r.getYarnApplicationState() + " " + r.getFinalApplicationStatus());

        ApplicationId unknown = ApplicationId.newInstance(id.getClusterTimestamp(), 9999);
        try {
            yarn.getApplicationReport(unknown);
            check(false, "getApplicationReport(unknown) must throw");
        } catch (ApplicationNotFoundException e) {
            check(true, "getApplicationReport(unknown): ApplicationNotFoundException");
        }
        yarn.stop();
    }
}
