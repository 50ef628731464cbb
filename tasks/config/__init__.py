"""Every model of the spec, in one package: the only definition of what pipelines.yaml may say.

``flows.spec`` reads the YAML, fills in ``defaults:`` and ``${VAR}`` references, and validates
the result into ``tasks.config.spec.Spec``; nothing else validates settings again — stages,
writers and commands receive these frozen models. Importing this package pulls in neither
Prefect nor Great Expectations, so ``cwsage check`` stays fast.

- ``spec``: the whole spec and one pipeline (``Spec``, ``PipelineSpec``), ConnectWise,
  schedules, shared state;
- ``stages``: each stage's settings (extract, validate, transform, load, post);
- ``kind``: a document kind declared in YAML (``extract.kind``);
- ``mappings``: the cross-reference tables from ConnectWise codes to Sage codes;
- ``sage``: the writer and each writer's settings;
- ``notify``: alerts.
"""
