'use strict';
// The kubernetes-models classes, loaded with require(): their ES builds reach @kubernetes-models/validate's
// ES build, which calls createRequire(import.meta.url) and so breaks inside justfn's CommonJS bundles; the
// CommonJS builds have no such call. Each class validates itself against its kind's JSON Schema.
module.exports = {
  Deployment: require('kubernetes-models/apps/v1/Deployment').Deployment,
  Service: require('kubernetes-models/v1/Service').Service,
  HorizontalPodAutoscaler: require('kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler')
    .HorizontalPodAutoscaler,
  KnativeService: require('@kubernetes-models/knative/serving.knative.dev/v1/Service').Service,
  Gateway: require('@kubernetes-models/istio/networking.istio.io/v1beta1/Gateway').Gateway,
  VirtualService: require('@kubernetes-models/istio/networking.istio.io/v1beta1/VirtualService')
    .VirtualService,
};
