/**
 * The smallest justfn function. The same file runs on AWS Lambda, on Knative and in any container.
 */
export const handler = async (event, context) => {
  console.log('hello from', context.functionName);
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hello: event?.rawPath ?? 'world', requestId: context.awsRequestId }),
  };
};
