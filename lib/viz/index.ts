/**
 * viz: seeing inside a network — activations of named layers and filter pictures; gradient
 * attributions (saliency, deconvnet, guided backprop, integrated gradients, SmoothGrad,
 * Grad-CAM, Guided Grad-CAM) and PNG overlays; occlusion sensitivity; adversarial examples
 * (FGSM, PGD) and robust accuracy; activation maximisation; embeddings of a layer's codes
 * (PCA, t-SNE: exact and Barnes-Hut) drawn as scatter plots. Every function works on any
 * Module, on both backends.
 *
 * Example: `const cam = viz.gradCam(models.lenet5().eval(), x, '3'); // (N, 28, 28)`
 */
export { VizError } from './errors.js';
export { activations, findLayer, type ActivationsOptions } from './activations.js';
export { filterGrid, type FilterGridOptions } from './filters.js';
export { type Target } from './target.js';
export { saliency, integratedGradients, smoothGrad, riemannRule, type SaliencyOptions, type IntegratedGradientsOptions, type IntegrationMethod, type SmoothGradOptions } from './gradients.js';
export { guidedBackprop, deconvnet, withReluRule, GuidedReLU, DeconvReLU, type ReluRule, type ReluRuleOptions } from './relu-rules.js';
export { gradCam, gradCamAndGuidedBackprop, guidedGradCam, type GradCamAndGuided, type GradCamOptions } from './gradcam.js';
export { resizeBilinear } from './resize.js';
export { overlay, overlayPng, jet, type OverlayOptions } from './overlay.js';
export { occlusion, type OcclusionOptions } from './occlusion.js';
export { fgsm, pgd, robustAccuracy, type Attack, type AttackNorm, type AttackOptions, type PgdOptions, type RobustAccuracy } from './adversarial.js';
export { maximizeActivation, totalVariation, type MaximizeActivationOptions } from './maximize.js';
export { deepDream, type DeepDreamOptions } from './deepdream.js';
export { invertFeatures, type InvertFeaturesOptions } from './inversion.js';
export { pca, type PcaOptions, type PcaResult } from './embedding/pca.js';
export { tsne, type TsneOptions, type TsneResult } from './embedding/tsne.js';
export { scatterSvg, scatterPlot, type ScatterOptions } from './embedding/scatter.js';
export { topActivations, type TopActivation, type TopActivationsOptions } from './top-activations.js';
