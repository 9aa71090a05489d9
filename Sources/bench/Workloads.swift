/// Every workload, in the order of the table.
let allWorkloads: [Workload] =
    processWorkloads + messageWorkloads + queueWorkloads + syncWorkloads + bigMessageWorkloads + poolWorkloads
    + cpuScalingWorkloads + traceWorkloads
