// Each test runs several host processes; two at once would only slow both on a small machine.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
