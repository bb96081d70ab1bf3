"""Training-data export: rollouts, compliance records and AEP runs → SFT / DPO / PPO / router data.

Entry point: `engine.export.pipeline.run_export(ExportOptions(...))`; `engine.export.hf.push` uploads.
"""
