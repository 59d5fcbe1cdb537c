/**
 * The smallest justfn function. The same file runs on AWS Lambda, on Knative (HTTP and CloudEvents) and
 * in any container.
 */
export const handler = async (event, context) => {
  console.log('hello from', context.functionName);
  // A CloudEvent (Knative Eventing): whatever is returned goes back as the data of a reply event.
  if (event.specversion) return { greeting: `hello, ${event.data?.name ?? 'world'}` };
  // An HTTP request, as an API Gateway HTTP API event (or a raw Lambda event with a `name`).
  const name = event.queryStringParameters?.name ?? event.name ?? 'world';
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ greeting: `hello, ${name}`, requestId: context.awsRequestId }),
  };
};
