// Operators: which running EC2 instances would a change to this subnet hit (runtime as rt_* properties).
// :param id => 'subnet/karma-dev-private-a'
MATCH (s:Component {id: $id})<-[:DEPENDS_ON]-(i:Component {type: 'ec2-instance'})
RETURN i.id AS instance, i.rt_state AS state, i.rt_private_ip AS private_ip
ORDER BY instance
